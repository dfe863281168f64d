import java.util.*; import com.fasterxml.jackson.databind.ObjectMapper; import com.netflix.conductor.core.utils.ParametersUtils; import com.netflix.conductor.model.*;
import com.netflix.conductor.core.env.EnvVarLookup;
/** stdin: one JSON line {"input":{...},"taskOutput":{...},"params":{...}}; prints resolved input, then after substituteSecrets. */
public class Oracle { public static void main(String[] a) throws Exception { ObjectMapper om=new ObjectMapper();
 Scanner sc=new Scanner(System.in,"UTF-8"); ParametersUtils pu=new ParametersUtils(om, null, n -> EnvVarLookup.lookup("CONDUCTOR_SECRET_", n));
 while(sc.hasNextLine()){ String line=sc.nextLine(); if(line.isBlank()) continue; Map<String,Object> q=om.readValue(line, Map.class);
  WorkflowModel w=new WorkflowModel(); w.input=(Map<String,Object>)q.getOrDefault("input", new HashMap<>()); TaskModel t=new TaskModel(); t.out=(Map<String,Object>)q.getOrDefault("taskOutput", new HashMap<>()); w.tasks.add(t);
  Map<String,Object> r= q.containsKey("payload") ? pu.replace((Map<String,Object>)q.get("params"), q.get("payload")) : pu.getTaskInputV2((Map<String,Object>)q.get("params"), w, "tid", null);
  System.out.println(om.writeValueAsString(Map.of("resolved", r, "handedOff", pu.substituteSecrets(r)))); } } }
