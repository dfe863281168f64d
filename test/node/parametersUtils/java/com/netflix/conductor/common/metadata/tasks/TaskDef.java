package com.netflix.conductor.common.metadata.tasks; import java.util.Map;
public class TaskDef { public Map<String,Object> inputTemplate; public Map<String,Object> getInputTemplate(){return inputTemplate;} }
