package com.netflix.conductor.common.metadata.workflow; import java.util.Map;
public class WorkflowDef { public Map<String,Object> inputTemplate; public int getSchemaVersion(){return 2;} public Map<String,Object> getInputTemplate(){return inputTemplate;} }
