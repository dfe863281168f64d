/**
 * The Argo spec policy (src/engines/argo/specPolicy.ts), pure: every rule refuses with the field's JSON path and
 * the rule's name, what a grant allows passes, and Argo's own examples (test/fixtures/argo/examples.json) pass as
 * they are, or are refused for the one power they use and pass once it is granted.
 */
import { describe, expect, it } from "vitest";
import {
  POD_SECURITY_LEVELS,
  SPEC_CAPABILITIES,
  checkArgoBody,
  requestMessage,
  specShapes,
  type SpecGrants,
} from "../../../src/engines/argo/specPolicy";
import { DEFAULT_GRANTS, grantsOf, nextGrants, widenedGrant } from "../../../src/engines/argo/workspaces";
import examples from "../../fixtures/argo/examples.json";

type Obj = Record<string, any>;

const grants = (over: Partial<SpecGrants> = {}): SpecGrants => ({ namespace: "team", ...DEFAULT_GRANTS, ...over });
const hello = (): Obj => ({
  apiVersion: "argoproj.io/v1alpha1",
  kind: "Workflow",
  metadata: { generateName: "hello-world-", namespace: "team" },
  spec: {
    entrypoint: "main",
    templates: [{ name: "main", container: { image: "busybox", command: ["echo"], args: ["hello"] } }],
  },
});
const create = (wf: Obj) => ({ namespace: "team", workflow: wf });
/** The refusal of a workflow create, as `{field, rule, code}`, or "ok". */
function verdict(wf: Obj, over: Partial<SpecGrants> = {}) {
  const v = checkArgoBody("POST", ["workflows", "team"], create(wf), grants(over));
  return v.ok ? "ok" : { field: v.details?.field, rule: v.details?.rule, code: v.code };
}
const edit = (f: (wf: Obj) => void): Obj => {
  const wf = hello();
  f(wf);
  return wf;
};
const main = (wf: Obj) => wf.spec.templates[0];

describe("the table", () => {
  it("names only shapes it defines", () => {
    const shapes = specShapes();
    const refs = Object.values(shapes).flatMap((shape) =>
      Object.values(shape).flatMap((rule) =>
        typeof rule === "string"
          ? []
          : "one" in rule
            ? [rule.one]
            : "list" in rule
              ? [rule.list]
              : "grid" in rule
                ? [rule.grid]
                : "map" in rule
                  ? [rule.map]
                  : [],
      ),
    );
    expect(refs.filter((r) => !(r in shapes))).toEqual([]);
  });

  it("finds the request message of each route with a body, and no other", () => {
    expect(requestMessage("POST", ["workflows", "team"])).toBe("WorkflowCreateRequest");
    expect(requestMessage("POST", ["workflows", "team", "lint"])).toBe("WorkflowLintRequest");
    expect(requestMessage("POST", ["workflows", "team", "submit"])).toBe("WorkflowSubmitRequest");
    expect(requestMessage("PUT", ["workflows", "team", "wf", "resubmit"])).toBe("WorkflowResubmitRequest");
    expect(requestMessage("PUT", ["workflow-templates", "team", "t"])).toBe("WorkflowTemplateUpdateRequest");
    expect(requestMessage("POST", ["cron-workflows", "team", "lint"])).toBe("LintCronWorkflowRequest");
    expect(requestMessage("PUT", ["archived-workflows", "uid-1", "resubmit"])).toBe("ResubmitArchivedWorkflowRequest");
    expect(requestMessage("POST", ["sensors", "team"])).toBe("argo-events");
    expect(requestMessage("POST", ["events", "team", "x"])).toBeNull(); // an event's payload is the caller's data
    expect(requestMessage("DELETE", ["workflows", "team", "wf"])).toBeNull();
    for (const [m, s] of [
      ["PATCH", ["workflows", "team"]],
      ["POST", ["workflows", "team", ""]],
      ["POST", ["workflows", "team", "wf", "resubmit"]],
      ["PUT", ["workflows", "team", "wf", "resubmit", "x"]],
    ] as const)
      expect(requestMessage(m, s), `${m} ${s.join("/")}`).toBe("no-route");
  });
});

describe("Argo's own examples (the legitimacy corpus)", () => {
  const route: Record<string, [string, string]> = {
    Workflow: ["workflows", "workflow"],
    WorkflowTemplate: ["workflow-templates", "template"],
    CronWorkflow: ["cron-workflows", "cronWorkflow"],
  };
  const body = (o: Obj) => {
    const [resource, key] = route[o.kind]!;
    return [resource, { namespace: "team", [key]: o }] as const;
  };

  it.each(examples.passing.map((e) => [e.path, e.object] as const))("%s passes under baseline, with no grant", (_, o) => {
    const [resource, b] = body(o as Obj);
    const v = checkArgoBody("POST", [resource, "team"], b, grants());
    expect(v.ok ? "ok" : v.reason).toBe("ok");
  });

  it.each(examples.refused.map((e) => [e.path, e.rule, e.object] as const))("%s is refused for %s alone", (_, rule, o) => {
    const [resource, b] = body(o as Obj);
    const v = checkArgoBody("POST", [resource, "team"], b, grants());
    expect(v.ok ? "ok" : v.details?.rule).toBe(rule);
    const everything = grants({
      podSecurity: "privileged",
      serviceAccounts: ["default"],
      clusterTemplates: ["cluster-workflow-template-submittable"],
      capabilities: [...SPEC_CAPABILITIES],
    });
    const granted = checkArgoBody("POST", [resource, "team"], b, everything);
    expect(granted.ok ? "ok" : granted.reason).toBe("ok");
  });
});

describe("Pod Security baseline (the default)", () => {
  it.each([
    [
      "a privileged container",
      (wf: Obj) => (main(wf).container.securityContext = { privileged: true }),
      "spec.templates[0].container.securityContext.privileged",
      "pod-security-baseline/privileged",
    ],
    [
      "a privileged sidecar",
      (wf: Obj) => (main(wf).sidecars = [{ name: "s", image: "x", securityContext: { privileged: true } }]),
      "spec.templates[0].sidecars[0].securityContext.privileged",
      "pod-security-baseline/privileged",
    ],
    [
      "a privileged init container",
      (wf: Obj) => (main(wf).initContainers = [{ name: "i", image: "x", securityContext: { privileged: true } }]),
      "spec.templates[0].initContainers[0].securityContext.privileged",
      "pod-security-baseline/privileged",
    ],
    [
      "a privileged script",
      (wf: Obj) => (wf.spec.templates[0] = { name: "main", script: { image: "x", source: "id", securityContext: { privileged: true } } }),
      "spec.templates[0].script.securityContext.privileged",
      "pod-security-baseline/privileged",
    ],
    [
      "a privileged container of a set",
      (wf: Obj) =>
        (wf.spec.templates[0] = {
          name: "main",
          containerSet: { containers: [{ name: "a", image: "x", securityContext: { privileged: true } }] },
        }),
      "spec.templates[0].containerSet.containers[0].securityContext.privileged",
      "pod-security-baseline/privileged",
    ],
    [
      "a privileged inline template of a step",
      (wf: Obj) =>
        (wf.spec.templates[0] = {
          name: "main",
          steps: [[{ name: "s", inline: { container: { image: "x", securityContext: { privileged: true } } } }]],
        }),
      "spec.templates[0].steps[0][0].inline.container.securityContext.privileged",
      "pod-security-baseline/privileged",
    ],
    [
      "a privileged inline template of a DAG task",
      (wf: Obj) =>
        (wf.spec.templates[0] = {
          name: "main",
          dag: { tasks: [{ name: "t", inline: { container: { image: "x", securityContext: { privileged: true } } } }] },
        }),
      "spec.templates[0].dag.tasks[0].inline.container.securityContext.privileged",
      "pod-security-baseline/privileged",
    ],
    [
      "privileged template defaults",
      (wf: Obj) => (wf.spec.templateDefaults = { container: { securityContext: { privileged: true } } }),
      "spec.templateDefaults.container.securityContext.privileged",
      "pod-security-baseline/privileged",
    ],
    [
      "a string where privileged is a boolean",
      (wf: Obj) => (main(wf).container.securityContext = { privileged: "{{workflow.parameters.p}}" }),
      "spec.templates[0].container.securityContext.privileged",
      "pod-security-baseline/privileged",
    ],
    ["hostNetwork", (wf: Obj) => (wf.spec.hostNetwork = true), "spec.hostNetwork", "pod-security-baseline/host-namespaces"],
    [
      "a hostPath volume",
      (wf: Obj) => (wf.spec.volumes = [{ name: "root", hostPath: { path: "/" } }]),
      "spec.volumes[0].hostPath",
      "pod-security-baseline/host-path",
    ],
    [
      "a template's hostPath volume",
      (wf: Obj) => (main(wf).volumes = [{ name: "root", hostPath: { path: "/" } }]),
      "spec.templates[0].volumes[0].hostPath",
      "pod-security-baseline/host-path",
    ],
    [
      "a gitRepo volume",
      (wf: Obj) => (wf.spec.volumes = [{ name: "g", gitRepo: { repository: "x" } }]),
      "spec.volumes[0].gitRepo",
      "pod-security-baseline/git-repo",
    ],
    [
      "a hostPort",
      (wf: Obj) => (main(wf).container.ports = [{ containerPort: 80, hostPort: 80 }]),
      "spec.templates[0].container.ports[0].hostPort",
      "pod-security-baseline/host-ports",
    ],
    [
      "a capability beyond baseline's",
      (wf: Obj) => (main(wf).container.securityContext = { capabilities: { add: ["CHOWN", "SYS_ADMIN"] } }),
      "spec.templates[0].container.securityContext.capabilities.add[1]",
      "pod-security-baseline/capabilities",
    ],
    [
      "an unsafe sysctl",
      (wf: Obj) => (wf.spec.securityContext = { sysctls: [{ name: "kernel.msgmax", value: "1" }] }),
      "spec.securityContext.sysctls[0].name",
      "pod-security-baseline/sysctls",
    ],
    [
      "an unmasked /proc",
      (wf: Obj) => (main(wf).container.securityContext = { procMount: "Unmasked" }),
      "spec.templates[0].container.securityContext.procMount",
      "pod-security-baseline/proc-mount",
    ],
    [
      "seccomp Unconfined",
      (wf: Obj) => (main(wf).securityContext = { seccompProfile: { type: "Unconfined" } }),
      "spec.templates[0].securityContext.seccompProfile.type",
      "pod-security-baseline/seccomp",
    ],
    [
      "AppArmor Unconfined",
      (wf: Obj) => (main(wf).container.securityContext = { appArmorProfile: { type: "Unconfined" } }),
      "spec.templates[0].container.securityContext.appArmorProfile.type",
      "pod-security-baseline/apparmor",
    ],
    [
      "AppArmor unconfined by annotation",
      (wf: Obj) => (wf.spec.podMetadata = { annotations: { "container.apparmor.security.beta.kubernetes.io/main": "unconfined" } }),
      'spec.podMetadata.annotations["container.apparmor.security.beta.kubernetes.io/main"]',
      "pod-security-baseline/apparmor",
    ],
    [
      "an annotation named by a parameter",
      (wf: Obj) => (main(wf).metadata = { annotations: { "{{inputs.parameters.name}}": "unconfined" } }),
      'spec.templates[0].metadata.annotations["{{inputs.parameters.name}}"]',
      "pod-security-baseline/apparmor",
    ],
    [
      "an SELinux type",
      (wf: Obj) => (wf.spec.securityContext = { seLinuxOptions: { type: "spc_t" } }),
      "spec.securityContext.seLinuxOptions.type",
      "pod-security-baseline/selinux",
    ],
    [
      "an SELinux user",
      (wf: Obj) => (main(wf).container.securityContext = { seLinuxOptions: { user: "system_u" } }),
      "spec.templates[0].container.securityContext.seLinuxOptions.user",
      "pod-security-baseline/selinux",
    ],
    [
      "a Windows host process",
      (wf: Obj) => (wf.spec.securityContext = { windowsOptions: { hostProcess: true } }),
      "spec.securityContext.windowsOptions.hostProcess",
      "pod-security-baseline/host-process",
    ],
    [
      "a probe's host",
      (wf: Obj) => (main(wf).container.livenessProbe = { httpGet: { host: "10.0.0.1", port: 80 } }),
      "spec.templates[0].container.livenessProbe.httpGet.host",
      "pod-security-baseline/host-probes",
    ],
    [
      "a lifecycle handler's host",
      (wf: Obj) => (main(wf).container.lifecycle = { preStop: { tcpSocket: { host: "10.0.0.1", port: 22 } } }),
      "spec.templates[0].container.lifecycle.preStop.tcpSocket.host",
      "pod-security-baseline/host-probes",
    ],
  ])("refuses %s, naming the field and the rule", (_, f, field, rule) => {
    expect(verdict(edit(f))).toEqual({ field: `workflow.${field}`, rule, code: "FORBIDDEN" });
    expect(verdict(edit(f), { podSecurity: "privileged" })).toBe("ok");
  });

  it("allows what baseline allows", () => {
    const wf = edit((wf) => {
      main(wf).container.securityContext = { capabilities: { add: ["CHOWN", "NET_BIND_SERVICE"], drop: ["ALL"] }, procMount: "Default" };
      wf.spec.securityContext = { sysctls: [{ name: "net.ipv4.tcp_syncookies", value: "1" }], seccompProfile: { type: "RuntimeDefault" } };
      wf.spec.volumes = [
        { name: "w", emptyDir: {} },
        { name: "c", persistentVolumeClaim: { claimName: "mine" } },
      ];
      wf.spec.podMetadata = { annotations: { "container.apparmor.security.beta.kubernetes.io/main": "runtime/default" } };
      main(wf).container.ports = [{ containerPort: 80, hostPort: 0 }];
    });
    expect(verdict(wf)).toBe("ok");
  });

  it.each([
    ["nfs", { server: "nfs.storage.svc", path: "/export" }],
    ["csi", { driver: "nfs.csi.k8s.io", volumeAttributes: { server: "nfs", share: "/" } }],
    ["awsElasticBlockStore", { volumeID: "vol-0123" }],
    ["flexVolume", { driver: "x/y" }],
  ])("refuses a %s volume (storage the node mounts by a shared address) unless node-storage is granted", (source, spec) => {
    const wf = edit((wf) => (wf.spec.volumes = [{ name: "v", [source]: spec }]));
    expect(verdict(wf)).toEqual({ field: `workflow.spec.volumes[0].${source}`, rule: "node-storage", code: "FORBIDDEN" });
    expect(verdict(wf, { capabilities: ["node-storage"] })).toBe("ok");
    expect(verdict(wf, { podSecurity: "privileged" })).toBe("ok");
  });
});

describe("Pod Security restricted (on a workspace's request)", () => {
  const restricted = { podSecurity: "restricted" as const };
  const hardened = () =>
    edit((wf) => {
      wf.spec.securityContext = { runAsNonRoot: true, seccompProfile: { type: "RuntimeDefault" } };
      main(wf).container.securityContext = { allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] } };
    });

  it("passes a container that meets it, with the pod's settings from the workflow", () => {
    expect(verdict(hardened(), restricted)).toBe("ok");
  });

  it.each([
    [
      "a container that leaves privilege escalation on",
      (wf: Obj) => delete main(wf).container.securityContext.allowPrivilegeEscalation,
      "spec.templates[0].container.securityContext.allowPrivilegeEscalation",
      "privilege-escalation",
    ],
    [
      "a container that keeps its capabilities",
      (wf: Obj) => (main(wf).container.securityContext.capabilities = { drop: ["NET_RAW"] }),
      "spec.templates[0].container.securityContext.capabilities.drop",
      "capabilities",
    ],
    [
      "an added capability other than NET_BIND_SERVICE",
      (wf: Obj) => (main(wf).container.securityContext.capabilities.add = ["CHOWN"]),
      "spec.templates[0].container.securityContext.capabilities.add[0]",
      "capabilities",
    ],
    [
      "a pod that may run as root",
      (wf: Obj) => delete wf.spec.securityContext.runAsNonRoot,
      "spec.templates[0].container.securityContext.runAsNonRoot",
      "run-as-non-root",
    ],
    [
      "a template whose own pod settings replace the workflow's",
      (wf: Obj) => (main(wf).securityContext = { runAsUser: 1000 }),
      "spec.templates[0].container.securityContext.runAsNonRoot",
      "run-as-non-root",
    ],
    ["runAsUser 0", (wf: Obj) => (wf.spec.securityContext.runAsUser = 0), "spec.securityContext.runAsUser", "run-as-user"],
    [
      "no seccomp profile",
      (wf: Obj) => delete wf.spec.securityContext.seccompProfile,
      "spec.templates[0].container.securityContext.seccompProfile.type",
      "seccomp",
    ],
    [
      "an nfs volume",
      (wf: Obj) => (wf.spec.volumes = [{ name: "n", nfs: { server: "nfs", path: "/x" } }]),
      "spec.volumes[0].nfs",
      "volume-types",
    ],
    [
      "a sidecar left to its defaults",
      (wf: Obj) => (main(wf).sidecars = [{ name: "s", image: "x" }]),
      "spec.templates[0].sidecars[0].securityContext.allowPrivilegeEscalation",
      "privilege-escalation",
    ],
    [
      "an inline step template's container left to its defaults",
      (wf: Obj) => wf.spec.templates.push({ name: "s", steps: [[{ name: "i", inline: { container: { image: "x" } } }]] }),
      "spec.templates[1].steps[0][0].inline.container.securityContext.allowPrivilegeEscalation",
      "privilege-escalation",
    ],
  ])("refuses %s", (_, f, field, rule) => {
    const wf = hardened();
    f(wf);
    expect(verdict(wf, restricted)).toEqual({ field: `workflow.${field}`, rule: `pod-security-restricted/${rule}`, code: "FORBIDDEN" });
    // Baseline allows each of them (a volume outside the namespace's own kinds once node-storage is granted).
    expect(verdict(wf, { capabilities: ["node-storage"] })).toBe("ok");
  });

  it("refuses a plain hello-world, which leaves every setting to its defaults", () => {
    expect(verdict(hello(), restricted)).toMatchObject({ rule: "pod-security-restricted/privilege-escalation" });
  });
});

describe("what reaches beyond the workspace", () => {
  it.each([
    ["podSpecPatch (workflow)", (wf: Obj) => (wf.spec.podSpecPatch = '{"hostPID": true}'), "spec.podSpecPatch", "pod-spec-patch"],
    ["podSpecPatch (template)", (wf: Obj) => (main(wf).podSpecPatch = "{}"), "spec.templates[0].podSpecPatch", "pod-spec-patch"],
    [
      "podSpecPatch (artifact GC)",
      (wf: Obj) => (wf.spec.artifactGC = { podSpecPatch: "{}" }),
      "spec.artifactGC.podSpecPatch",
      "pod-spec-patch",
    ],
    [
      "a resource template",
      (wf: Obj) => (main(wf).resource = { action: "create", manifest: "kind: ClusterRoleBinding" }),
      "spec.templates[0].resource",
      "resource-templates",
    ],
    ["a plugin template", (wf: Obj) => (main(wf).plugin = { hello: {} }), "spec.templates[0].plugin", "plugins"],
    ["executor plugins", (wf: Obj) => (wf.spec.executorPlugins = [{}]), "spec.executorPlugins", "plugins"],
    ["custom metrics", (wf: Obj) => (main(wf).metrics = { prometheus: [] }), "spec.templates[0].metrics", "metrics"],
    [
      "an artifact repository ref",
      (wf: Obj) => (wf.spec.artifactRepositoryRef = { configMap: "x" }),
      "spec.artifactRepositoryRef",
      "artifact-repository-ref",
    ],
  ])("refuses %s unless its capability is granted", (_, f, field, rule) => {
    expect(verdict(edit(f))).toEqual({ field: `workflow.${field}`, rule, code: "FORBIDDEN" });
    expect(verdict(edit(f), { podSecurity: "privileged" })).toMatchObject({ rule });
    expect(verdict(edit(f), { capabilities: [rule as (typeof SPEC_CAPABILITIES)[number]] })).toBe("ok");
  });

  it.each([
    ["the workflow's", (wf: Obj) => (wf.spec.serviceAccountName = "SA"), "spec.serviceAccountName"],
    ["a template's", (wf: Obj) => (main(wf).serviceAccountName = "SA"), "spec.templates[0].serviceAccountName"],
    ["the executor's", (wf: Obj) => (wf.spec.executor = { serviceAccountName: "SA" }), "spec.executor.serviceAccountName"],
    [
      "a template's executor's",
      (wf: Obj) => (main(wf).executor = { serviceAccountName: "SA" }),
      "spec.templates[0].executor.serviceAccountName",
    ],
    ["artifact GC's", (wf: Obj) => (wf.spec.artifactGC = { serviceAccountName: "SA" }), "spec.artifactGC.serviceAccountName"],
    [
      "one artifact's GC's",
      (wf: Obj) => (main(wf).outputs = { artifacts: [{ name: "a", path: "/a", artifactGC: { serviceAccountName: "SA" } }] }),
      "spec.templates[0].outputs.artifacts[0].artifactGC.serviceAccountName",
    ],
    [
      "a data template's artifact's GC's",
      (wf: Obj) =>
        (wf.spec.templates[0] = {
          name: "main",
          data: {
            source: { artifactPaths: { name: "a", s3: { key: "k" }, artifactGC: { serviceAccountName: "SA" } } },
            transformation: [],
          },
        }),
      "spec.templates[0].data.source.artifactPaths.artifactGC.serviceAccountName",
    ],
  ])("a service account (%s) must be one the workspace may use", (_, f, field) => {
    const wf = (sa: string) => JSON.parse(JSON.stringify(edit(f)).replaceAll('"SA"', JSON.stringify(sa)));
    expect(verdict(wf("cluster-admin-sa"), { podSecurity: "privileged" })).toEqual({
      field: `workflow.${field}`,
      rule: "service-account",
      code: "FORBIDDEN",
    });
    expect(verdict(wf("runner"), { serviceAccounts: ["runner"] })).toBe("ok");
    // Argo fills parameters in after the gateway has looked: only a literal name is checked.
    expect(verdict(wf("{{workflow.parameters.sa}}"), { serviceAccounts: ["runner", "{{workflow.parameters.sa}}"] })).toMatchObject({
      rule: "service-account",
    });
  });

  it.each([
    [
      "a step's templateRef",
      (wf: Obj, scope: unknown) =>
        (wf.spec.templates[0] = {
          name: "main",
          steps: [[{ name: "s", templateRef: { name: "shared", template: "t", clusterScope: scope } }]],
        }),
      "spec.templates[0].steps[0][0].templateRef.name",
    ],
    [
      "a task's templateRef",
      (wf: Obj, scope: unknown) =>
        (wf.spec.templates[0] = {
          name: "main",
          dag: { tasks: [{ name: "t", templateRef: { name: "shared", template: "t", clusterScope: scope } }] },
        }),
      "spec.templates[0].dag.tasks[0].templateRef.name",
    ],
    [
      "a hook's templateRef",
      (wf: Obj, scope: unknown) => (wf.spec.hooks = { exit: { templateRef: { name: "shared", template: "t", clusterScope: scope } } }),
      "spec.hooks.exit.templateRef.name",
    ],
    [
      "the workflowTemplateRef",
      (wf: Obj, scope: unknown) => (wf.spec = { workflowTemplateRef: { name: "shared", clusterScope: scope } }),
      "spec.workflowTemplateRef.name",
    ],
  ])("a ClusterWorkflowTemplate (%s) must be one the workspace may use", (_, f, field) => {
    expect(verdict(edit((wf) => f(wf, true)))).toEqual({ field: `workflow.${field}`, rule: "cluster-template", code: "FORBIDDEN" });
    expect(
      verdict(
        edit((wf) => f(wf, true)),
        { clusterTemplates: ["shared"] },
      ),
    ).toBe("ok");
    expect(verdict(edit((wf) => f(wf, false)))).toBe("ok"); // the namespace's own WorkflowTemplate
  });

  it.each([
    ["the workflow's metadata", (wf: Obj) => (wf.metadata.namespace = "other"), "metadata.namespace"],
    [
      "a mutex",
      (wf: Obj) => (wf.spec.synchronization = { mutexes: [{ name: "m", namespace: "other" }] }),
      "spec.synchronization.mutexes[0].namespace",
    ],
    [
      "a semaphore",
      (wf: Obj) => (main(wf).synchronization = { semaphores: [{ configMapKeyRef: { name: "c", key: "k" }, namespace: "other" }] }),
      "spec.templates[0].synchronization.semaphores[0].namespace",
    ],
    [
      "a claim's data source",
      (wf: Obj) =>
        (wf.spec.volumeClaimTemplates = [
          { metadata: { name: "c" }, spec: { dataSourceRef: { kind: "PersistentVolumeClaim", name: "theirs", namespace: "other" } } },
        ]),
      "spec.volumeClaimTemplates[0].spec.dataSourceRef.namespace",
    ],
  ])("another namespace (%s) is refused", (_, f, field) => {
    expect(verdict(edit(f), { podSecurity: "privileged", capabilities: [...SPEC_CAPABILITIES] })).toEqual({
      field: `workflow.${field}`,
      rule: "namespace",
      code: "FORBIDDEN",
    });
  });

  it.each([
    [
      "a claim's volumeName",
      (wf: Obj) => (wf.spec.volumeClaimTemplates = [{ metadata: { name: "c" }, spec: { volumeName: "pv-1" } }]),
      "spec.volumeClaimTemplates[0].spec.volumeName",
    ],
    [
      "a claim's selector",
      (wf: Obj) =>
        (wf.spec.volumes = [{ name: "e", ephemeral: { volumeClaimTemplate: { spec: { selector: { matchLabels: { a: "b" } } } } } }]),
      "spec.volumes[0].ephemeral.volumeClaimTemplate.spec.selector",
    ],
    [
      "a clusterTrustBundle projection",
      (wf: Obj) => (wf.spec.volumes = [{ name: "p", projected: { sources: [{ clusterTrustBundle: { name: "b", path: "b" } }] } }]),
      "spec.volumes[0].projected.sources[0].clusterTrustBundle",
    ],
    [
      "a podCertificate projection",
      (wf: Obj) => (wf.spec.volumes = [{ name: "p", projected: { sources: [{ podCertificate: { signerName: "x" } }] } }]),
      "spec.volumes[0].projected.sources[0].podCertificate",
    ],
    [
      "an owner reference that blocks its owner's deletion",
      (wf: Obj) =>
        (wf.metadata.ownerReferences = [{ apiVersion: "v1", kind: "Namespace", name: "kube-system", uid: "u", blockOwnerDeletion: true }]),
      "metadata.ownerReferences[0].blockOwnerDeletion",
    ],
  ])("a cluster-wide object (%s) is refused", (_, f, field) => {
    expect(verdict(edit(f), { podSecurity: "privileged" })).toEqual({
      field: `workflow.${field}`,
      rule: "cluster-object",
      code: "FORBIDDEN",
    });
  });

  it("a priority class must be one the workspace may use", () => {
    const wf = edit((wf) => (main(wf).priorityClassName = "system-node-critical"));
    expect(verdict(wf)).toEqual({ field: "workflow.spec.templates[0].priorityClassName", rule: "priority-class", code: "FORBIDDEN" });
    expect(verdict(wf, { priorityClasses: ["system-node-critical"] })).toBe("ok");
  });

  it("a submitted workflow carries no status (the controller runs a stored spec as it is)", () => {
    const stored = { templates: [{ name: "x", container: { image: "x", securityContext: { privileged: true } } }] };
    expect(verdict(edit((wf) => (wf.status = { storedWorkflowTemplateSpec: stored })))).toEqual({
      field: "workflow.status.storedWorkflowTemplateSpec",
      rule: "workflow-status",
      code: "FORBIDDEN",
    });
    for (const status of [
      { storedWorkflowTemplateSpec: {} },
      { StoredWorkflowTemplateSpec: {} },
      { storedTemplates: { x: {} } },
      { phase: "Running" },
    ])
      expect(verdict(edit((wf) => (wf.status = status)))).toMatchObject({ rule: "workflow-status" });
    // As Go writes a new Workflow (argo submit): zero values only.
    expect(verdict(edit((wf) => (wf.status = { startedAt: null, finishedAt: null, nodes: {}, progress: "" })))).toBe("ok");
    expect(verdict(edit((wf) => (wf.status = {})))).toBe("ok");
  });
});

describe("fields Argo would read that the table does not class", () => {
  it.each([
    ["a key in another case (Go matches keys case-insensitively)", (wf: Obj) => (wf.spec.PodSpecPatch = "{}"), "spec.PodSpecPatch"],
    ["a lower-case key", (wf: Obj) => (wf.spec.hostnetwork = true), "spec.hostnetwork"],
    [
      "a key with a long s (Unicode folding)",
      (wf: Obj) => (main(wf)["ſerviceAccountName"] = "admin"),
      'spec.templates[0]["ſerviceAccountName"]',
    ],
    [
      "a container key in another case",
      (wf: Obj) => (main(wf).container.SecurityContext = { privileged: true }),
      "spec.templates[0].container.SecurityContext",
    ],
    ["a field Argo does not have", (wf: Obj) => (wf.spec.hostPID = true), "spec.hostPID"],
  ])("refuses %s", (_, f, field) => {
    expect(verdict(edit(f))).toEqual({ field: `workflow.${field}`, rule: "unknown-field", code: "BAD_REQUEST" });
  });

  it("refuses a request member in another case, and an object of the wrong type", () => {
    const v = checkArgoBody("POST", ["workflows", "team"], { namespace: "team", Workflow: hello() }, grants());
    expect(v.ok ? "ok" : v.details).toEqual({ field: "Workflow", rule: "unknown-field" });
    const w = checkArgoBody("POST", ["workflows", "team"], { namespace: "team", workflow: { spec: { templates: "x" } } }, grants());
    expect(w.ok ? "ok" : w.details).toEqual({ field: "workflow.spec.templates", rule: "malformed" });
  });
});

describe("the other routes with a body", () => {
  it("submit: the service account, priority class and cluster template it names", () => {
    const submit = (body: Obj, over: Partial<SpecGrants> = {}) => {
      const v = checkArgoBody("POST", ["workflows", "team", "submit"], { namespace: "team", ...body }, grants(over));
      return v.ok ? "ok" : v.details;
    };
    expect(submit({ resourceKind: "WorkflowTemplate", resourceName: "t", submitOptions: { parameters: ["a=b"] } })).toBe("ok");
    expect(submit({ resourceKind: "WorkflowTemplate", resourceName: "t", submitOptions: { serviceAccount: "admin" } })).toEqual({
      field: "submitOptions.serviceAccount",
      rule: "service-account",
    });
    expect(submit({ resourceKind: "cwftmpl", resourceName: "shared" })).toEqual({ field: "resourceName", rule: "cluster-template" });
    expect(submit({ resourceKind: "ClusterWorkflowTemplate", resourceName: "shared" }, { clusterTemplates: ["shared"] })).toBe("ok");
    expect(submit({ resourceKind: "Pod", resourceName: "x" })).toMatchObject({ field: "resourceKind" });
  });

  it("workflow templates and cron workflows are checked like workflows", () => {
    const bad = edit((wf) => (wf.spec.hostNetwork = true)).spec;
    const t = checkArgoBody(
      "PUT",
      ["workflow-templates", "team", "t"],
      { namespace: "team", template: { metadata: { name: "t" }, spec: bad } },
      grants(),
    );
    expect(t.ok ? "ok" : t.details).toEqual({ field: "template.spec.hostNetwork", rule: "pod-security-baseline/host-namespaces" });
    const cron = { metadata: { name: "c" }, spec: { schedules: ["* * * * *"], workflowSpec: bad } };
    const c = checkArgoBody("POST", ["cron-workflows", "team", "lint"], { namespace: "team", cronWorkflow: cron }, grants());
    expect(c.ok ? "ok" : c.details).toEqual({
      field: "cronWorkflow.spec.workflowSpec.hostNetwork",
      rule: "pod-security-baseline/host-namespaces",
    });
    const meta = {
      metadata: { name: "c" },
      spec: { schedules: ["* * * * *"], workflowMetadata: { namespace: "other" }, workflowSpec: hello().spec },
    };
    const m = checkArgoBody("POST", ["cron-workflows", "team"], { namespace: "team", cronWorkflow: meta }, grants());
    expect(m.ok ? "ok" : m.details).toEqual({ field: "cronWorkflow.spec.workflowMetadata.namespace", rule: "namespace" });
  });

  it("resubmit and retry take their known members only; sensors and event sources need argo-events", () => {
    expect(
      checkArgoBody(
        "PUT",
        ["workflows", "team", "wf", "resubmit"],
        { name: "wf", namespace: "team", memoized: true, parameters: ["a=b"] },
        grants(),
      ).ok,
    ).toBe(true);
    expect(checkArgoBody("PUT", ["workflows", "team", "wf", "retry"], { name: "wf", Namespace: "other" }, grants()).ok).toBe(false);
    expect(checkArgoBody("POST", ["sensors", "team"], { sensor: {} }, grants())).toMatchObject({
      ok: false,
      details: { rule: "argo-events" },
    });
    expect(checkArgoBody("POST", ["sensors", "team"], { sensor: {} }, grants({ capabilities: ["argo-events"] })).ok).toBe(true);
  });
});

describe("a workspace's grants", () => {
  it("left out of a PUT, each keeps its value; a new workspace gets the defaults", () => {
    const held = { ...DEFAULT_GRANTS, serviceAccounts: ["runner"], podSecurity: "privileged" as const };
    expect(nextGrants(held, { podSecurity: undefined, serviceAccounts: undefined })).toEqual(held);
    expect(nextGrants(null, { capabilities: ["metrics"] })).toEqual({ ...DEFAULT_GRANTS, capabilities: ["metrics"] });
  });

  it("widening is told apart from narrowing", () => {
    const held = { ...DEFAULT_GRANTS, serviceAccounts: ["a", "b"], capabilities: ["metrics" as const] };
    expect(widenedGrant(held, { ...held, podSecurity: "restricted" })).toBeNull();
    expect(widenedGrant({ ...held, podSecurity: "restricted" }, held)).toBeNull(); // back to baseline
    expect(widenedGrant(held, { ...held, serviceAccounts: ["a"], capabilities: [] })).toBeNull();
    expect(widenedGrant(held, { ...held, podSecurity: "privileged" })).toBe("podSecurity");
    expect(widenedGrant(held, { ...held, serviceAccounts: ["a", "c"] })).toBe("serviceAccounts");
    expect(widenedGrant(held, { ...held, clusterTemplates: ["x"] })).toBe("clusterTemplates");
    expect(widenedGrant(held, { ...held, capabilities: ["metrics", "plugins"] })).toBe("capabilities");
  });

  it("a stored value the gateway did not write grants the least", () => {
    const row = {
      podSecurity: "PRIVILEGED",
      serviceAccounts: [],
      clusterTemplates: [],
      priorityClasses: [],
      capabilities: ["metrics", "all"],
    };
    expect(grantsOf(row)).toMatchObject({ podSecurity: "restricted", capabilities: ["metrics"] });
    expect(POD_SECURITY_LEVELS).toEqual(["baseline", "restricted", "privileged"]);
  });
});
