package com.netflix.conductor.core.utils; public class Utils { public static void checkArgument(boolean c, String m){ if(!c) throw new IllegalArgumentException(m);} }
