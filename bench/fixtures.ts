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
