package com.netflix.conductor.common.utils;
public class TaskUtils { public static String removeIterationFromTaskRefName(String r){ String[] t=r.split("__"); return t.length>0?t[0]:r; } }
