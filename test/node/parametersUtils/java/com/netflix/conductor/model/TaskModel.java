package com.netflix.conductor.model; import java.util.*;
public class TaskModel { public String ref="t0"; public Map<String,Object> in=new HashMap<>(), out=new HashMap<>();
 public String getReferenceTaskName(){return ref;} public Map<String,Object> getInputData(){return in;} public Map<String,Object> getOutputData(){return out;}
 public String getTaskType(){return "SIMPLE";} public Object getStatus(){return "COMPLETED";} public int getRetryCount(){return 0;} public String getCorrelationId(){return null;}
 public int getPollCount(){return 0;} public String getTaskDefName(){return "t";} public long getScheduledTime(){return 0;} public long getStartTime(){return 0;} public long getEndTime(){return 0;}
 public String getWorkflowInstanceId(){return "w";} public String getTaskId(){return "tid";} public String getReasonForIncompletion(){return null;} public long getCallbackAfterSeconds(){return 0;}
 public String getWorkerId(){return null;} public int getIteration(){return 0;} public boolean isLoopOverTask(){return false;} }
