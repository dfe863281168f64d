package com.netflix.conductor.model; import java.util.*; import com.netflix.conductor.common.metadata.workflow.WorkflowDef;
public class WorkflowModel { public Map<String,Object> input=new HashMap<>(), output=new HashMap<>(), variables=new HashMap<>(); public List<TaskModel> tasks=new ArrayList<>();
 public Map<String,Object> getInput(){return input;} public Map<String,Object> getOutput(){return output;} public String getStatus(){return "RUNNING";} public String getWorkflowId(){return "wid";}
 public String getParentWorkflowId(){return null;} public String getParentWorkflowTaskId(){return null;} public String getWorkflowName(){return "T___wf";} public int getWorkflowVersion(){return 1;}
 public String getCorrelationId(){return "alice";} public String getReasonForIncompletion(){return null;} public WorkflowDef getWorkflowDefinition(){return new WorkflowDef();}
 public Map<String,Object> getVariables(){return variables;} public List<TaskModel> getTasks(){return tasks;}
 public TaskModel getTaskByRefName(String r){ for(TaskModel t:tasks) if(t.getReferenceTaskName().equals(r)) return t; return null; } }
