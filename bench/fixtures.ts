/**
 * What the benchmark sends and what its stub upstream answers.
 */

/** A Prefect-UI-like query of about `bytes` characters: many root fields with nested selections and filters. */
export function graphqlBody(bytes: number): string {
  const field = (i: number) =>
    `  r${i}: flow_run(where: {name: {_ilike: "%run-${i}%"}, state: {_in: ["Running", "Pending"]}}, limit: 10, order_by: {scheduled_start_time: desc}) {\n` +
    `    id name state state_message scheduled_start_time start_time end_time created updated version labels parameters\n` +
    `    flow { id name version core_version archived flow_group_id project { id name description } }\n` +
    `    states(order_by: {timestamp: desc}, limit: 5) { id state message timestamp start_time }\n  }\n`;
  let query = "query Dashboard {\n";
  for (let i = 0; query.length < bytes - 40; i++) query += field(i);
  query += "}\n";
  return JSON.stringify({ operationName: "Dashboard", query, variables: {} });
}

/**
 * A Conductor listing of `count` workflow definitions of tenant `bench` (plus a few of another tenant's, which the
 * gateway drops), about 1 KB each: what the Conductor UI asks for on its first screen.
 */
export function workflowDefListing(count: number): string {
  const defs = [];
  for (let i = 0; i < count; i++) {
    const tenant = i % 50 === 49 ? "other" : "bench";
    defs.push({
      name: `${tenant}___workflow_${i}`,
      description: JSON.stringify({ description: `Workflow number ${i} of the benchmark`, labels: ["OPS", "BENCH"] }),
      version: 1,
      ownerEmail: "ops@example.com",
      schemaVersion: 2,
      restartable: true,
      workflowStatusListenerEnabled: false,
      timeoutPolicy: "ALERT_ONLY",
      timeoutSeconds: 0,
      inputParameters: ["device_id", "template"],
      outputParameters: { result: "${apply.output.result}" },
      tasks: [
        {
          name: `${tenant}___mount_${i}`,
          taskReferenceName: "mount",
          type: "SIMPLE",
          inputParameters: { device_id: "${workflow.input.device_id}" },
        },
        {
          name: "decide",
          taskReferenceName: "decide",
          type: "DECISION",
          caseValueParam: "mounted",
          inputParameters: { mounted: "${mount.output.ok}" },
          decisionCases: {
            true: [
              {
                name: `${tenant}___apply_${i}`,
                taskReferenceName: "apply",
                type: "SIMPLE",
                inputParameters: { template: "${workflow.input.template}" },
              },
            ],
          },
          defaultCase: [{ name: "GLOBAL___notify", taskReferenceName: "notify", type: "SIMPLE" }],
        },
        { name: `${tenant}___unmount_${i}`, taskReferenceName: "unmount", type: "SIMPLE" },
      ],
    });
  }
  return JSON.stringify(defs);
}

/**
 * One workflow definition as Conductor's own API serializes it (Jackson, NON_NULL: every field with a default is
 * written, e.g. each task's startDelay, optional, decisionCases, joinOn; see conductor-oss common/.../WorkflowDef.java
 * and WorkflowTask.java), with `tasks` simple tasks: about 2.6 KB with the default 6 tasks.
 */
export function conductorWorkflowDef(tenant: string, i: number, tasks = 6): Record<string, unknown> {
  const task = (t: number) => ({
    name: `${tenant}___step_${i}_${t}`,
    taskReferenceName: `step_${t}`,
    inputParameters: { device_id: "${workflow.input.device_id}", previous: `\${step_${Math.max(0, t - 1)}.output.result}` },
    type: "SIMPLE",
    decisionCases: {},
    defaultCase: [],
    forkTasks: [],
    startDelay: 0,
    joinOn: [],
    optional: false,
    defaultExclusiveJoinTask: [],
    asyncComplete: false,
    loopOver: [],
    onStateChange: {},
    permissive: false,
  });
  return {
    createTime: 1_767_225_600_000 + i,
    updateTime: 1_767_225_600_000 + i,
    createdBy: "ops@example.com",
    updatedBy: "ops@example.com",
    accessPolicy: {},
    name: `${tenant}___workflow_${i}`,
    description: JSON.stringify({ description: `Provisions device group ${i}`, labels: ["OPS", "BENCH"] }),
    version: 1,
    tasks: Array.from({ length: tasks }, (_, t) => task(t)),
    inputParameters: ["device_id", "template"],
    outputParameters: { result: `\${step_${tasks - 1}.output.result}` },
    schemaVersion: 2,
    restartable: true,
    workflowStatusListenerEnabled: false,
    ownerEmail: "ops@example.com",
    timeoutPolicy: "ALERT_ONLY",
    timeoutSeconds: 0,
    variables: {},
    inputTemplate: {},
    enforceSchema: true,
    metadata: {},
    maskedFields: [],
  };
}

/**
 * Conductor's answer to GET /api/metadata/workflow holding `count` definitions spread over `tenants` tenants
 * (`bench` first, then `t1`, `t2`...), as JSON text.
 */
export function conductorDefinitionListing(count: number, tenants = 1, tasks = 6): string {
  const parts: string[] = [];
  for (let i = 0; i < count; i++)
    parts.push(JSON.stringify(conductorWorkflowDef(i % tenants === 0 ? "bench" : `t${i % tenants}`, i, tasks)));
  return `[${parts.join(",")}]`;
}
