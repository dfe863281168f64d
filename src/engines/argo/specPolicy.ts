/**
 * Power in an Argo workflow spec (issue 25, class 6): what a Workflow, WorkflowTemplate or CronWorkflow may ask of
 * the cluster through a workspace. Pure.
 *
 * ONE table (`SHAPES`) names every field Argo Server decodes from the bodies that carry a spec, type by type, each
 * classed:
 * - `plain`: the field only shapes what the workflow's own containers do in their own namespace (an image, a
 *   command, a parameter, a resource request...): any value, not looked into.
 * - a shape (`one`, `list`, `grid`, `map`): an object whose fields are classed in turn by its own entry.
 * - `check`: a value the workspace's grants decide (pod security, service accounts, cluster templates, priority
 *   classes, namespaces).
 * - `refused`: a power no workspace has by default (a capability an admin may grant, or none at all).
 * A key that is not in its type's entry is refused: Argo Server decodes bodies with Go's `encoding/json`, which
 * matches keys case-insensitively (`PodSpecPatch`, `hostnetwork`, `ſerviceAccountName` all reach their fields), so
 * only exact, known names pass, and nothing the table does not class reaches Argo.
 *
 * Derived from Argo's own types, argoproj/argo-workflows `pkg/apis/workflow/v1alpha1/workflow_types.go`,
 * `cron_workflow_types.go`, `workflow_template_types.go`, `container_set_template_types.go`, `http_types.go`,
 * `plugin_types.go`, `data_types.go` and the Kubernetes types they embed (k8s.io/api `core/v1/types.go`:
 * `Container`, `Volume`, `PodSecurityContext`, `SecurityContext`, `Probe`, ...), as their generated
 * `api/jsonschema/schema.json` lists them; the request messages from `pkg/apiclient/<service>/<service>.proto`. Kubernetes' Pod
 * Security Standards from kubernetes/pod-security-admission `policy/check_*.go`.
 */
import { isObj } from "../../jsonValue";
import { allow, refuse, type Verdict } from "../../verdict";

/** Kubernetes' Pod Security Standards levels (pod-security-admission `api/constants.go`). */
export const POD_SECURITY_LEVELS = ["baseline", "restricted", "privileged"] as const;
export type PodSecurityLevel = (typeof POD_SECURITY_LEVELS)[number];

/**
 * Powers no workspace has unless a flowgate admin grants them:
 * - `resource-templates`: `resource` templates create, patch or delete any Kubernetes object the pod's service
 *   account may, from a manifest that parameters fill in at run time (so the gateway cannot read it beforehand).
 * - `plugins`: executor plugins (`plugin` templates, `executorPlugins`) run code the cluster's operator installed
 *   with a configuration the gateway cannot read.
 * - `pod-spec-patch`: `podSpecPatch` merges any pod field (host namespaces, privileged, another service account,
 *   nodeName) after every other check; granting it gives up every rule below for the workspace.
 * - `metrics`: custom Prometheus metrics are emitted by the shared controller, under names and labels any
 *   workspace could also write (another workspace's dashboards and alerts, or a cardinality flood).
 * - `artifact-repository-ref`: an `artifactRepositoryRef` is looked up in the workflow's namespace, then in the
 *   controller's (workflow/artifactrepositories/artifactrepositories.go `Resolve`).
 * - `argo-events`: sensors and event sources (Argo Events) run pods and triggers that create any object; their
 *   specs are not classed here, so they are refused whole unless this is granted.
 * - `node-storage`: volume sources the node mounts by an address the cluster shares (`nfs`, `iscsi`, `rbd`,
 *   `cephfs`, cloud disks by id, inline `csi` and `flexVolume` drivers...), outside the namespace's claims: the
 *   same export or disk may back another workspace's PersistentVolume, and neither RBAC nor NetworkPolicies
 *   govern the node's own mount. Kubernetes' baseline allows them; a shared cluster's workspaces must not.
 */
export const SPEC_CAPABILITIES = [
  "resource-templates",
  "plugins",
  "pod-spec-patch",
  "metrics",
  "artifact-repository-ref",
  "argo-events",
  "node-storage",
] as const;
export type SpecCapability = (typeof SPEC_CAPABILITIES)[number];

/** What one workspace may ask of the cluster (its row in `workspaces`). */
export interface SpecGrants {
  /** The workspace: its Kubernetes namespace. */
  namespace: string;
  podSecurity: PodSecurityLevel;
  /** Service accounts (of this namespace) a workflow may run as; none named means the namespace's default. */
  serviceAccounts: readonly string[];
  /** ClusterWorkflowTemplates a workflow may reference (`clusterScope: true`) or submit. */
  clusterTemplates: readonly string[];
  /** PriorityClasses a workflow's pods may name (a high one preempts other workspaces' pods). */
  priorityClasses: readonly string[];
  capabilities: readonly SpecCapability[];
}

/** Why a body is refused: the field (a JSON path into the body) and the rule, for the caller to read. */
export interface SpecRefusal {
  path: string;
  rule: string;
  message: string;
}

// ---------------------------------------------------------------------------------------------------------------
// Pod Security Standards (kubernetes/pod-security-admission policy/check_*.go, at the newest version).

/** `check_capabilities_baseline.go`: the capabilities a container may add under baseline. */
const BASELINE_CAPABILITIES = new Set([
  "AUDIT_WRITE",
  "CHOWN",
  "DAC_OVERRIDE",
  "FOWNER",
  "FSETID",
  "KILL",
  "MKNOD",
  "NET_BIND_SERVICE",
  "SETFCAP",
  "SETGID",
  "SETPCAP",
  "SETUID",
  "SYS_CHROOT",
]);
/** `check_capabilities_restricted.go`: the only one restricted lets a container add. */
const RESTRICTED_CAPABILITIES = new Set(["NET_BIND_SERVICE"]);
/** `check_sysctls.go` (1.37): the namespaced, safe sysctls. */
const SAFE_SYSCTLS = new Set([
  "kernel.shm_rmid_forced",
  "net.ipv4.ip_local_port_range",
  "net.ipv4.tcp_syncookies",
  "net.ipv4.ping_group_range",
  "net.ipv4.ip_unprivileged_port_start",
  "net.ipv4.ip_local_reserved_ports",
  "net.ipv4.tcp_keepalive_time",
  "net.ipv4.tcp_fin_timeout",
  "net.ipv4.tcp_keepalive_intvl",
  "net.ipv4.tcp_keepalive_probes",
  "net.ipv4.tcp_rmem",
  "net.ipv4.tcp_wmem",
  "net.ipv4.tcp_slow_start_after_idle",
  "net.ipv4.tcp_notsent_lowat",
]);
/** `check_seLinuxOptions.go` (1.31): the SELinux types a pod may ask for; `user` and `role` must be unset. */
const SELINUX_TYPES = new Set(["", "container_t", "container_init_t", "container_kvm_t", "container_engine_t"]);
/** Every volume source of core/v1 `Volume` but `ephemeral` and `projected` (which are walked). */
const VOLUME_SOURCES = [
  "hostPath",
  "emptyDir",
  "gcePersistentDisk",
  "awsElasticBlockStore",
  "gitRepo",
  "secret",
  "nfs",
  "iscsi",
  "glusterfs",
  "persistentVolumeClaim",
  "rbd",
  "flexVolume",
  "cinder",
  "cephfs",
  "flocker",
  "downwardAPI",
  "fc",
  "azureFile",
  "configMap",
  "vsphereVolume",
  "quobyte",
  "azureDisk",
  "photonPersistentDisk",
  "portworxVolume",
  "scaleIO",
  "storageos",
  "csi",
  "image",
] as const;
/**
 * The volume sources whose data stays the namespace's own (its claims, config maps, secrets, scratch space, the
 * pod's own metadata, an image): every other source needs `node-storage` below privileged.
 */
const NAMESPACED_VOLUMES = new Set(["configMap", "downwardAPI", "emptyDir", "image", "persistentVolumeClaim", "secret"]);
/** `check_restrictedVolumes.go`: the volume sources restricted allows (with `ephemeral` and `projected`). */
const RESTRICTED_VOLUMES = new Set(["configMap", "csi", "downwardAPI", "emptyDir", "image", "persistentVolumeClaim", "secret"]);
/** `check_appArmorProfile.go`: the AppArmor annotation and the values it may hold. */
const APPARMOR_ANNOTATION = "container.apparmor.security.beta.kubernetes.io/";
/** The seccomp annotations Kubernetes read before 1.27 (pod-security-admission `check_seccompProfile_baseline.go`). */
const SECCOMP_ANNOTATIONS = ["seccomp.security.alpha.kubernetes.io/pod", "container.seccomp.security.alpha.kubernetes.io/"];

// ---------------------------------------------------------------------------------------------------------------
// The table.

type CheckName = keyof typeof CHECKS;
type FieldRule =
  /** Any value: it carries no power beyond the workflow's own containers in its own namespace. */
  | "plain"
  /** An object of that shape. */
  | { one: string }
  /** A list of objects of that shape. */
  | { list: string }
  /** A list of lists of objects of that shape (`steps`). */
  | { grid: string }
  /** An object whose values (under any key) have that shape (`hooks`). */
  | { map: string }
  /** A value decided by a rule and the workspace's grants. */
  | { check: CheckName }
  /** Refused, unless the workspace holds the capability (when one is named). */
  | { refused: string; unless?: SpecCapability; message: string };

type Shape = Readonly<Record<string, FieldRule>>;

const P = "plain" as const;
const one = (shape: string): FieldRule => ({ one: shape });
const list = (shape: string): FieldRule => ({ list: shape });
const check = (name: CheckName): FieldRule => ({ check: name });

/** The Kubernetes container fields (k8s.io/api core/v1 `Container`), shared by every container-like type. */
const CONTAINER: Shape = {
  name: P,
  image: P,
  command: P,
  args: P,
  workingDir: P,
  // `hostPort` and, since 1.34, probe and lifecycle `host` are Pod Security baseline checks.
  ports: list("ContainerPort"),
  envFrom: P, // config maps and secrets of the pod's own namespace
  env: P, // the same, and the pod's own fields and files
  resources: P,
  resizePolicy: P,
  restartPolicy: P,
  restartPolicyRules: P,
  volumeMounts: P, // of the pod's own volumes, which are checked (`Volume`); Bidirectional needs privileged
  volumeDevices: P,
  livenessProbe: one("Probe"),
  readinessProbe: one("Probe"),
  startupProbe: one("Probe"),
  lifecycle: one("Lifecycle"),
  terminationMessagePath: P,
  terminationMessagePolicy: P,
  imagePullPolicy: P,
  securityContext: one("SecurityContext"),
  stdin: P,
  stdinOnce: P,
  tty: P,
};

/** The object metadata (k8s.io/apimachinery meta/v1 `ObjectMeta`) of a stored object. */
const OBJECT_META: Shape = {
  name: P,
  generateName: P,
  namespace: check("namespace"),
  // An update carries the object as read back (uid, resourceVersion, managedFields...): Kubernetes keeps its own.
  selfLink: P,
  uid: P,
  resourceVersion: P,
  generation: P,
  creationTimestamp: P,
  deletionTimestamp: P,
  deletionGracePeriodSeconds: P,
  labels: check("labels"),
  annotations: P,
  ownerReferences: { list: "OwnerReference" },
  finalizers: P,
  managedFields: P,
};

/** Powers refused in more than one type, unless granted. */
const POD_SPEC_PATCH: FieldRule = {
  refused: "pod-spec-patch",
  unless: "pod-spec-patch",
  message: "podSpecPatch merges any pod field after every other check",
};
const METRICS: FieldRule = { refused: "metrics", unless: "metrics", message: "custom metrics go to the shared controller's metrics" };

/** workflow_types.go `ArtifactLocation`: where an artifact is stored; `Artifact` inlines it (`json:",inline"`). */
const ARTIFACT_LOCATION: Shape = {
  archiveLogs: P,
  s3: P,
  git: P,
  http: P,
  artifactory: P,
  hdfs: P,
  raw: P,
  oss: P,
  gcs: P,
  azure: P,
  plugin: P, // an artifact driver the cluster's operator installed
};

/** workflow_types.go `Template`: one step of a workflow, and the pod that runs it. */
const TEMPLATE: Shape = {
  name: P,
  inputs: one("Inputs"),
  outputs: one("Outputs"),
  nodeSelector: P,
  affinity: P,
  metadata: one("PodMetadata"),
  daemon: P,
  steps: { grid: "WorkflowStep" },
  container: one("Container"),
  containerSet: one("ContainerSetTemplate"),
  script: one("ScriptTemplate"),
  resource: {
    refused: "resource-templates",
    unless: "resource-templates",
    message: "a resource template creates, patches or deletes any Kubernetes object",
  },
  dag: one("DAGTemplate"),
  suspend: P,
  data: one("Data"), // transforms artifacts inside the workflow
  http: P, // a request from the agent pod, as any container of the workspace could make
  plugin: { refused: "plugins", unless: "plugins", message: "a plugin template runs an executor plugin" },
  volumes: list("Volume"),
  initContainers: list("UserContainer"),
  sidecars: list("UserContainer"),
  archiveLocation: one("ArtifactLocation"),
  activeDeadlineSeconds: P,
  retryStrategy: P,
  parallelism: P,
  failFast: P,
  tolerations: P,
  schedulerName: P,
  priorityClassName: check("priorityClass"),
  serviceAccountName: check("serviceAccount"),
  automountServiceAccountToken: P,
  executor: one("ExecutorConfig"),
  hostAliases: P,
  securityContext: one("PodSecurityContext"),
  podSpecPatch: POD_SPEC_PATCH,
  metrics: METRICS,
  synchronization: one("Synchronization"),
  memoize: P, // a config map of the namespace
  timeout: P,
  annotations: P, // the node's display name and description in the UI
  podResources: P,
  resourceClaims: P,
  pendingTimeout: P,
};

/**
 * k8s.io/api core/v1 `Volume`: its name and exactly one volume source. Each source is classed by Pod Security
 * (pod-security-admission `check_hostPathVolumes.go`, `check_restrictedVolumes.go`); `gitRepo` is refused at
 * every level short of privileged, as it runs `git` on the node as root (CVE-2024-10220; Kubernetes disables it
 * from 1.33).
 */
const VOLUME: Shape = (() => {
  const fields: Record<string, FieldRule> = { name: P };
  for (const source of VOLUME_SOURCES) fields[source] = check("volumeSource");
  fields.ephemeral = { one: "EphemeralVolumeSource" };
  fields.projected = { one: "ProjectedVolumeSource" };
  return fields;
})();

const SHAPES: Readonly<Record<string, Shape>> = {
  // The objects (workflow_types.go, workflow_template_types.go, cron_workflow_types.go).
  Workflow: {
    apiVersion: P,
    kind: P,
    metadata: one("ObjectMeta"),
    spec: one("WorkflowSpec"),
    // The controller runs `status.storedWorkflowTemplateSpec` and `status.storedTemplates` as they are
    // (workflow/controller/operator.go `setExecWorkflow`): a submitted status would run unchecked.
    status: check("emptyStatus"),
  },
  WorkflowTemplate: { apiVersion: P, kind: P, metadata: one("ObjectMeta"), spec: one("WorkflowSpec") },
  CronWorkflow: {
    apiVersion: P,
    kind: P,
    metadata: one("ObjectMeta"),
    spec: one("CronWorkflowSpec"),
    // The UI sends it back on update; it names the cron's own workflows by name in its own namespace
    // (workflow/cron/operator.go stops `status.active` there).
    status: P,
  },
  CronWorkflowSpec: {
    workflowSpec: one("WorkflowSpec"),
    schedules: P,
    concurrencyPolicy: P,
    suspend: P,
    startingDeadlineSeconds: P,
    successfulJobsHistoryLimit: P,
    failedJobsHistoryLimit: P,
    timezone: P,
    workflowMetadata: one("ObjectMeta"),
    stopStrategy: P,
    when: P,
  },
  ObjectMeta: OBJECT_META,
  OwnerReference: { apiVersion: P, kind: P, name: P, uid: P, controller: P, blockOwnerDeletion: check("noBlockOwnerDeletion") },
  WorkflowSpec: {
    templates: list("Template"),
    entrypoint: P,
    arguments: one("Arguments"),
    serviceAccountName: check("serviceAccount"),
    automountServiceAccountToken: P, // mounts (or not) the token of the checked service account
    executor: one("ExecutorConfig"),
    volumes: list("Volume"),
    volumeClaimTemplates: list("PersistentVolumeClaim"),
    parallelism: P,
    artifactRepositoryRef: {
      refused: "artifact-repository-ref",
      unless: "artifact-repository-ref",
      message: "an artifactRepositoryRef is also looked up in the controller's namespace",
    },
    suspend: P,
    nodeSelector: P, // scheduling: Kubernetes' PodNodeSelector admission bounds it per namespace
    affinity: P,
    tolerations: P, // scheduling: Kubernetes' PodTolerationRestriction admission bounds it per namespace
    imagePullSecrets: P, // secrets of the namespace
    hostNetwork: check("hostNamespace"),
    dnsPolicy: P,
    dnsConfig: P, // the pod's own resolver
    onExit: P,
    ttlStrategy: P,
    activeDeadlineSeconds: P,
    priority: P, // the order among this controller's own workflows
    schedulerName: P,
    podGC: one("PodGC"),
    podPriorityClassName: check("priorityClass"),
    hostAliases: P, // the pod's own /etc/hosts
    securityContext: one("PodSecurityContext"),
    podSpecPatch: POD_SPEC_PATCH,
    podDisruptionBudget: P, // a budget for this workflow's pods, in its namespace
    metrics: METRICS,
    shutdown: P,
    workflowTemplateRef: one("WorkflowTemplateRef"),
    synchronization: one("Synchronization"),
    volumeClaimGC: P,
    retryStrategy: P,
    podMetadata: one("PodMetadata"),
    templateDefaults: one("TemplateDefaults"),
    archiveLogs: P,
    hooks: { map: "LifecycleHook" },
    workflowMetadata: one("WorkflowMetadata"), // labels and annotations of the Workflow object itself
    artifactGC: one("WorkflowLevelArtifactGC"),
    podResources: P,
    resourceClaims: P, // resource claims of the namespace (dynamic resource allocation)
    executorPlugins: { refused: "plugins", unless: "plugins", message: "executor plugins run a sidecar not classed here" },
  },
  Template: TEMPLATE,
  WorkflowStep: {
    name: P,
    template: P,
    inline: one("Template"),
    arguments: one("Arguments"),
    templateRef: one("TemplateRef"),
    withItems: P,
    withParam: P,
    withSequence: P,
    when: P,
    continueOn: P,
    onExit: P,
    hooks: { map: "LifecycleHook" },
  },
  DAGTemplate: { target: P, tasks: list("DAGTask"), failFast: P },
  DAGTask: {
    name: P,
    template: P,
    inline: one("Template"),
    arguments: one("Arguments"),
    templateRef: one("TemplateRef"),
    dependencies: P,
    withItems: P,
    withParam: P,
    withSequence: P,
    when: P,
    continueOn: P,
    onExit: P,
    depends: P,
    hooks: { map: "LifecycleHook" },
  },
  // data_types.go: the artifacts a data template reads are `Artifact`s (their GC settings included).
  Data: { source: one("DataSource"), transformation: P },
  DataSource: { artifactPaths: one("Artifact") },
  LifecycleHook: { template: P, arguments: one("Arguments"), templateRef: one("TemplateRef"), expression: P },
  TemplateRef: { name: P, template: P, clusterScope: check("clusterScope") },
  WorkflowTemplateRef: { name: P, clusterScope: check("clusterScope") },
  ExecutorConfig: { serviceAccountName: check("serviceAccount") },
  PodGC: { strategy: P, labelSelector: P, deleteDelayDuration: P },
  // Labels and annotations of the workflow's pods: AppArmor can be set by annotation (Pod Security baseline).
  PodMetadata: { labels: check("labels"), annotations: check("podAnnotations") },
  // workflow_types.go `WorkflowMetadata`: labels the controller writes onto the running Workflow (after Argo
  // Server's own), and labels computed by expressions (`labelsFrom`, keyed by the label's name).
  WorkflowMetadata: { labels: check("labels"), annotations: P, labelsFrom: check("labels") },
  // `Template`, as defaults merged under every template (workflow_types.go `TemplateDefaults`).
  TemplateDefaults: TEMPLATE,
  // Mutexes and semaphores of another namespace would hold up, or be held up by, that namespace's workflows.
  Synchronization: { mutexes: list("Mutex"), semaphores: list("Semaphore") },
  Mutex: { name: P, namespace: check("namespace"), database: P },
  Semaphore: { configMapKeyRef: P, namespace: check("namespace"), database: P },
  Arguments: { parameters: P, artifacts: list("Artifact") },
  Inputs: { parameters: P, artifacts: list("Artifact") },
  Outputs: { parameters: P, artifacts: list("Artifact"), result: P, exitCode: P },
  // Artifacts come from and go to stores with credentials from the namespace's own secrets.
  Artifact: {
    ...ARTIFACT_LOCATION,
    name: P,
    path: P,
    mode: P,
    from: P,
    globalName: P,
    archive: P,
    optional: P,
    subPath: P,
    recurseMode: P,
    fromExpression: P,
    artifactGC: one("ArtifactGC"),
    deleted: P,
  },
  ArtifactLocation: ARTIFACT_LOCATION,
  // Artifact garbage collection runs its own pod: its service account is checked, its patch refused.
  WorkflowLevelArtifactGC: {
    strategy: P,
    podMetadata: one("PodMetadata"),
    serviceAccountName: check("serviceAccount"),
    forceFinalizerRemoval: P,
    podSpecPatch: POD_SPEC_PATCH,
  },
  ArtifactGC: { strategy: P, podMetadata: one("PodMetadata"), serviceAccountName: check("serviceAccount") },
  // The containers.
  Container: CONTAINER,
  ScriptTemplate: { ...CONTAINER, source: P },
  UserContainer: { ...CONTAINER, mirrorVolumeMounts: P },
  ContainerNode: { ...CONTAINER, dependencies: P },
  ContainerSetTemplate: { containers: list("ContainerNode"), volumeMounts: P, retryStrategy: P },
  ContainerPort: { name: P, containerPort: P, protocol: P, hostPort: check("hostPort"), hostIP: P },
  Probe: {
    exec: P,
    httpGet: one("ProbeHost"),
    tcpSocket: one("ProbeHost"),
    grpc: P,
    initialDelaySeconds: P,
    timeoutSeconds: P,
    periodSeconds: P,
    successThreshold: P,
    failureThreshold: P,
    terminationGracePeriodSeconds: P,
  },
  Lifecycle: { postStart: one("LifecycleHandler"), preStop: one("LifecycleHandler"), stopSignal: P },
  LifecycleHandler: { exec: P, httpGet: one("ProbeHost"), tcpSocket: one("ProbeHost"), sleep: P },
  // `HTTPGetAction` and `TCPSocketAction`: a `host` makes the kubelet, on the node, connect anywhere.
  ProbeHost: { host: check("probeHost"), port: P, path: P, scheme: P, httpHeaders: P },
  // Pod Security (k8s.io/api core/v1 `PodSecurityContext`, `SecurityContext`).
  PodSecurityContext: {
    seLinuxOptions: check("seLinuxOptions"),
    windowsOptions: check("windowsOptions"),
    runAsUser: check("runAsUser"),
    runAsGroup: P,
    runAsNonRoot: check("runAsNonRoot"),
    supplementalGroups: P,
    supplementalGroupsPolicy: P,
    fsGroup: P,
    sysctls: check("sysctls"),
    fsGroupChangePolicy: P,
    seccompProfile: check("seccompProfile"),
    appArmorProfile: check("appArmorProfile"),
    seLinuxChangePolicy: P,
  },
  SecurityContext: {
    capabilities: check("capabilities"),
    privileged: check("privileged"),
    seLinuxOptions: check("seLinuxOptions"),
    windowsOptions: check("windowsOptions"),
    runAsUser: check("runAsUser"),
    runAsGroup: P,
    runAsNonRoot: check("runAsNonRoot"),
    readOnlyRootFilesystem: P,
    allowPrivilegeEscalation: check("allowPrivilegeEscalation"),
    procMount: check("procMount"),
    seccompProfile: check("seccompProfile"),
    appArmorProfile: check("appArmorProfile"),
  },
  // Volumes (k8s.io/api core/v1 `Volume`): the volume source is checked as a whole (`volumeSource`).
  Volume: VOLUME,
  PersistentVolumeClaim: { apiVersion: P, kind: P, metadata: one("ObjectMeta"), spec: one("PersistentVolumeClaimSpec"), status: P },
  PersistentVolumeClaimSpec: {
    accessModes: P,
    // A claim naming a PersistentVolume (or selecting existing ones) binds a cluster-wide object that may hold
    // another workspace's data.
    selector: { refused: "cluster-object", message: "a claim's selector binds existing cluster-wide PersistentVolumes" },
    volumeName: { refused: "cluster-object", message: "a claim's volumeName binds a cluster-wide PersistentVolume" },
    resources: P,
    storageClassName: P, // dynamic provisioning: ResourceQuota bounds it per namespace and class
    volumeMode: P,
    dataSource: P, // a snapshot or claim of the namespace
    dataSourceRef: one("DataSourceRef"),
    volumeAttributesClassName: P,
  },
  DataSourceRef: { apiGroup: P, kind: P, name: P, namespace: check("namespace") },
  EphemeralVolumeSource: { volumeClaimTemplate: one("PersistentVolumeClaimTemplate") },
  PersistentVolumeClaimTemplate: { metadata: one("ObjectMeta"), spec: one("PersistentVolumeClaimSpec") },
  ProjectedVolumeSource: { sources: list("VolumeProjection"), defaultMode: P },
  VolumeProjection: {
    secret: P,
    downwardAPI: P,
    configMap: P,
    serviceAccountToken: P, // a token of the pod's own (checked) service account
    clusterTrustBundle: { refused: "cluster-object", message: "a clusterTrustBundle projection reads cluster-wide objects" },
    podCertificate: { refused: "cluster-object", message: "a podCertificate projection asks a cluster signer for a certificate" },
  },

  // The request messages (pkg/apiclient/workflow/workflow.proto, workflowtemplate/workflow-template.proto,
  // cronworkflow/cron-workflow.proto, workflowarchive/workflow-archive.proto).
  WorkflowCreateRequest: { namespace: check("namespace"), workflow: one("Workflow"), instanceID: P, serverDryRun: P, createOptions: P },
  WorkflowLintRequest: { namespace: check("namespace"), workflow: one("Workflow") },
  WorkflowSubmitRequest: {
    namespace: check("namespace"),
    resourceKind: check("resourceKind"),
    resourceName: P,
    submitOptions: one("SubmitOpts"),
  },
  SubmitOpts: {
    name: P,
    generateName: P,
    entryPoint: P,
    parameters: P,
    serviceAccount: check("serviceAccount"),
    dryRun: P,
    serverDryRun: P,
    labels: P,
    ownerReference: one("OwnerReference"),
    annotations: P,
    podPriorityClassName: check("priorityClass"),
    priority: P,
    artifacts: P,
  },
  // Parameters replace the workflow's own, which reach only plain fields: every checked field must hold a literal.
  WorkflowResubmitRequest: { name: P, namespace: check("namespace"), memoized: P, parameters: P },
  WorkflowRetryRequest: { name: P, namespace: check("namespace"), restartSuccessful: P, nodeFieldSelector: P, parameters: P },
  WorkflowResumeRequest: { name: P, namespace: check("namespace"), nodeFieldSelector: P },
  WorkflowSuspendRequest: { name: P, namespace: check("namespace") },
  WorkflowTerminateRequest: { name: P, namespace: check("namespace") },
  WorkflowStopRequest: { name: P, namespace: check("namespace"), nodeFieldSelector: P, message: P },
  WorkflowSetRequest: { name: P, namespace: check("namespace"), nodeFieldSelector: P, message: P, phase: P, outputParameters: P },
  WorkflowTemplateCreateRequest: { namespace: check("namespace"), template: one("WorkflowTemplate"), createOptions: P },
  WorkflowTemplateUpdateRequest: { name: P, namespace: check("namespace"), template: one("WorkflowTemplate") },
  WorkflowTemplateLintRequest: { namespace: check("namespace"), template: one("WorkflowTemplate"), createOptions: P },
  CreateCronWorkflowRequest: { namespace: check("namespace"), cronWorkflow: one("CronWorkflow"), createOptions: P },
  UpdateCronWorkflowRequest: { name: P, namespace: check("namespace"), cronWorkflow: one("CronWorkflow") },
  LintCronWorkflowRequest: { namespace: check("namespace"), cronWorkflow: one("CronWorkflow") },
  CronWorkflowResumeRequest: { name: P, namespace: check("namespace") },
  CronWorkflowSuspendRequest: { name: P, namespace: check("namespace") },
  RetryArchivedWorkflowRequest: {
    uid: P,
    name: P,
    namespace: check("namespace"),
    restartSuccessful: P,
    nodeFieldSelector: P,
    parameters: P,
  },
  ResubmitArchivedWorkflowRequest: { uid: P, name: P, namespace: check("namespace"), memoized: P, parameters: P },
};

// ---------------------------------------------------------------------------------------------------------------
// The checks.

interface Walk {
  grants: SpecGrants;
  /** Set when one field is refused: the walk stops there. */
  refusal?: SpecRefusal;
}
type Check = (value: unknown, path: string, w: Walk) => SpecRefusal | null;

const unset = (v: unknown) => v === undefined || v === null;
const baselineApplies = (w: Walk) => w.grants.podSecurity !== "privileged";
const restrictedApplies = (w: Walk) => w.grants.podSecurity === "restricted";
const podSecurity = (path: string, rule: string, message: string, w: Walk): SpecRefusal => ({
  path,
  rule: `pod-security-${w.grants.podSecurity}/${rule}`,
  message,
});
/** A value that is not a literal string: Argo fills `{{...}}` in at run time, after the gateway has looked. */
const literal = (v: unknown): v is string => typeof v === "string" && !v.includes("{{");

/**
 * The labels Argo Server and the controller set and act on (argoproj/argo-workflows workflow/common/common.go
 * `LabelKey*`, all of them): `controller-instanceid` picks the controller that runs the workflow, `completed` makes the
 * controller ignore it, `workflow` ties pods to their workflow, `creator*` say who submitted it and `actor*`/`action`
 * who last acted on it and how, the rest record where it came from or its state. A spec's labels are applied after Argo Server's own (a cron's `workflowMetadata`, a workflow's
 * `spec.workflowMetadata` written by the controller), so none of these may be set by a spec. Others under the
 * prefix (`no-test`, `archive-strategy`) are the workflow author's.
 */
const ARGO_MANAGED_LABELS = new Set(
  [
    "controller-instanceid",
    "creator",
    "creator-email",
    "creator-preferred-username",
    "completed",
    "workflow-archiving-status",
    "workflow",
    "phase",
    "resubmitted-from-workflow",
    "cron-workflow",
    "workflow-template",
    "workflow-event-binding",
    "cluster-workflow-template",
    "on-exit",
    "configmap-type",
    "actor",
    "actor-email",
    "actor-preferred-username",
    "action",
    "component",
    "backfill",
    "artifact-gc-pod",
    "report-outputs-completed",
  ]
    .map((k) => `workflows.argoproj.io/${k}`)
    .concat(["cronworkflows.argoproj.io/completed"]),
);

/**
 * The pod annotations Argo's controller sets or reads on a workflow's pods (workflow/common/common.go
 * `AnnotationKey*`, read where workflowpod.go, operator.go, pod/controller.go and artifact_gc.go use them). The
 * controller copies a spec's pod annotations over its own (workflowpod.go `addMetadata` runs last), so a spec's value
 * would win: `node-id`/`node-name` tie a pod to a node, `pod-gc-strategy` decides when it is deleted, `progress` what
 * the node reports.
 */
const ARGO_POD_ANNOTATIONS = new Set(
  [
    "node-id",
    "node-name",
    "node-type",
    "node-start-time",
    "pod-gc-strategy",
    "artifact-gc-strategy",
    "progress",
    "workflow-name",
    "workflow-uid",
    "trace-id",
    "span-id",
    "service-account-token.name",
    "pod-name-format",
    "scheduled-time",
  ].map((k) => `workflows.argoproj.io/${k}`),
);
/**
 * `kill-cmd-<container>` is the command the controller execs in that container to stop it (workflow/signal/signal.go:
 * it overrides Argo's own, for every running container). For an injected sidecar it is what the annotation is for;
 * for Argo's own containers (common.go: `wait`, `supervisor`, `init`, `init-artifact-*`, `artifact-plugin-*`) it would
 * run the author's program as the executor, with the executor's service-account token (attack28).
 */
const KILL_CMD = "workflows.argoproj.io/kill-cmd-";
const ARGO_CONTAINER = /^(?:wait|supervisor|init|init-artifact-.*|artifact-plugin-.*)$/;
const isArgoPodAnnotation = (key: string): boolean => {
  const k = key.toLowerCase();
  return ARGO_POD_ANNOTATIONS.has(k) || (k.startsWith(KILL_CMD) && ARGO_CONTAINER.test(k.slice(KILL_CMD.length)));
};

const CHECKS = {
  labels(v, path) {
    if (unset(v)) return null;
    if (!isObj(v)) return { path, rule: "malformed", message: "labels are an object" };
    for (const key of Object.keys(v)) {
      const at = `${path}${member(key)}`;
      // Argo fills `{{...}}` in map keys too: a parameter could name one of Argo's labels after this check.
      if (!literal(key)) return { path: at, rule: "argo-label", message: "a label's name is a literal" };
      if (ARGO_MANAGED_LABELS.has(key.toLowerCase()))
        return {
          path: at,
          rule: "argo-label",
          message: `${JSON.stringify(key.slice(0, 80))} is Argo's own label (set by Argo Server or the controller)`,
        };
    }
    return null;
  },
  namespace(v, path, w) {
    if (unset(v) || v === "" || v === w.grants.namespace) return null;
    return { path, rule: "namespace", message: `names namespace ${JSON.stringify(v)}, not the workspace ${w.grants.namespace}` };
  },
  serviceAccount(v, path, w) {
    if (unset(v) || v === "") return null; // the namespace's default, as Argo picks it
    if (literal(v) && w.grants.serviceAccounts.includes(v)) return null;
    return { path, rule: "service-account", message: `service account ${JSON.stringify(v)} is not one the workspace may use` };
  },
  priorityClass(v, path, w) {
    if (unset(v) || v === "") return null;
    if (literal(v) && w.grants.priorityClasses.includes(v)) return null;
    return { path, rule: "priority-class", message: `priority class ${JSON.stringify(v)} is not one the workspace may use` };
  },
  clusterScope(v, path) {
    // Checked with its sibling `name` by `templateRefs` below; here only its type.
    if (unset(v) || typeof v === "boolean") return null;
    return { path, rule: "cluster-template", message: "clusterScope must be true or false" };
  },
  resourceKind(v, path, w) {
    if (typeof v === "string" && SUBMITTABLE_KINDS.has(v)) return null;
    return { path, rule: "cluster-template", message: "resourceKind must be WorkflowTemplate, CronWorkflow or ClusterWorkflowTemplate" };
  },
  emptyStatus(v, path) {
    // Go's encoding/json writes a new Workflow's status as `{"startedAt":null,"finishedAt":null}` (metav1.Time is
    // a struct: omitempty keeps it), so zero values pass; an empty object only where it cannot be a stored spec.
    if (unset(v)) return null;
    if (!isObj(v)) return { path, rule: "malformed", message: "status is an object" };
    for (const [key, x] of Object.entries(v)) {
      const zero = unset(x) || x === "" || x === 0 || (Array.isArray(x) && x.length === 0);
      if (zero || (isObj(x) && Object.keys(x).length === 0 && EMPTY_STATUS_OBJECTS.has(key))) continue;
      return {
        path: `${path}${member(key)}`,
        rule: "workflow-status",
        message: "a submitted workflow carries no status (the controller runs status.storedWorkflowTemplateSpec as it is)",
      };
    }
    return null;
  },
  noBlockOwnerDeletion(v, path) {
    if (unset(v) || v === false) return null;
    return { path, rule: "cluster-object", message: "blockOwnerDeletion holds up the deletion of another object" };
  },
  podAnnotations(v, path, w) {
    if (unset(v)) return null;
    if (!isObj(v)) return { path, rule: "malformed", message: "annotations are an object" };
    // Whatever the pod security level: these choose what Argo's controller does with the pod, not the pod's power.
    // (A `{{...}}` name could still spell one under `privileged`, whose containers hold more than any of them.)
    for (const key of Object.keys(v)) {
      if (isArgoPodAnnotation(key))
        return {
          path: `${path}${member(key)}`,
          rule: "argo-annotation",
          message: `${JSON.stringify(key.slice(0, 80))} is Argo's own pod annotation (the controller sets it or acts on it)`,
        };
    }
    if (!baselineApplies(w)) return null;
    for (const [key, value] of Object.entries(v)) {
      const at = `${path}${member(key)}`;
      // Argo fills `{{...}}` in map keys too: a parameter could name the AppArmor annotation after this check.
      if (!literal(key)) return podSecurity(at, "apparmor", "a pod annotation's name is a literal", w);
      if (key.startsWith(APPARMOR_ANNOTATION) && !(value === "runtime/default" || (literal(value) && value.startsWith("localhost/"))))
        return podSecurity(at, "apparmor", "AppArmor must be runtime/default or a localhost profile", w);
      if (
        SECCOMP_ANNOTATIONS.some((a) => key === a || (a.endsWith("/") && key.startsWith(a))) &&
        !(literal(value) && value !== "unconfined")
      )
        return podSecurity(at, "seccomp", "seccomp must not be unconfined", w);
    }
    return null;
  },
  hostNamespace(v, path, w) {
    if (!baselineApplies(w) || unset(v) || v === false) return null;
    return podSecurity(path, "host-namespaces", "the host's network, PID and IPC namespaces are not shared", w);
  },
  hostPort(v, path, w) {
    if (!baselineApplies(w) || unset(v) || v === 0) return null;
    return podSecurity(path, "host-ports", "no port of the node is opened", w);
  },
  probeHost(v, path, w) {
    if (!baselineApplies(w) || unset(v) || v === "") return null;
    return podSecurity(path, "host-probes", "a probe or lifecycle handler checks the pod itself (no host)", w);
  },
  privileged(v, path, w) {
    if (!baselineApplies(w) || unset(v) || v === false) return null;
    return podSecurity(path, "privileged", "privileged containers are not allowed", w);
  },
  allowPrivilegeEscalation(v, path, w) {
    if (!restrictedApplies(w) || v === false) return null;
    if (unset(v)) return null; // required per container, checked there (`restrictedContainer`)
    return podSecurity(path, "privilege-escalation", "allowPrivilegeEscalation must be false", w);
  },
  runAsNonRoot(v, path, w) {
    if (!restrictedApplies(w) || unset(v) || v === true) return null;
    return podSecurity(path, "run-as-non-root", "runAsNonRoot must be true", w);
  },
  runAsUser(v, path, w) {
    if (!restrictedApplies(w) || unset(v) || (typeof v === "number" && v !== 0)) return null;
    return podSecurity(path, "run-as-user", "runAsUser must not be 0 (root)", w);
  },
  procMount(v, path, w) {
    if (!baselineApplies(w) || unset(v) || v === "" || v === "Default") return null;
    return podSecurity(path, "proc-mount", "procMount must be Default", w);
  },
  capabilities(v, path, w) {
    if (unset(v)) return null;
    if (!isObj(v)) return { path, rule: "malformed", message: "capabilities are an object" };
    for (const key of Object.keys(v))
      if (key !== "add" && key !== "drop")
        return { path: `${path}${member(key)}`, rule: "unknown-field", message: "not a field Argo knows here" };
    if (!baselineApplies(w) || unset(v.add)) return null;
    const allowed = restrictedApplies(w) ? RESTRICTED_CAPABILITIES : BASELINE_CAPABILITIES;
    if (!Array.isArray(v.add)) return { path: `${path}.add`, rule: "malformed", message: "capabilities.add is a list" };
    for (const [i, cap] of v.add.entries())
      if (typeof cap !== "string" || !allowed.has(cap))
        return podSecurity(`${path}.add[${i}]`, "capabilities", `capability ${JSON.stringify(cap)} may not be added`, w);
    return null;
  },
  sysctls(v, path, w) {
    if (unset(v) || !baselineApplies(w)) return null;
    if (!Array.isArray(v)) return { path, rule: "malformed", message: "sysctls are a list" };
    for (const [i, s] of v.entries())
      if (!isObj(s) || typeof s.name !== "string" || !SAFE_SYSCTLS.has(s.name))
        return podSecurity(`${path}[${i}].name`, "sysctls", "only the safe, namespaced sysctls may be set", w);
    return null;
  },
  seccompProfile(v, path, w) {
    if (unset(v) || !baselineApplies(w)) return null;
    if (!isObj(v)) return { path, rule: "malformed", message: "seccompProfile is an object" };
    const t = v.type;
    if (t === "RuntimeDefault" || t === "Localhost" || (unset(t) && !restrictedApplies(w))) return null;
    return podSecurity(`${path}.type`, "seccomp", "seccomp must be RuntimeDefault or Localhost", w);
  },
  appArmorProfile(v, path, w) {
    if (unset(v) || !baselineApplies(w)) return null;
    if (!isObj(v)) return { path, rule: "malformed", message: "appArmorProfile is an object" };
    if (unset(v.type) || v.type === "RuntimeDefault" || v.type === "Localhost") return null;
    return podSecurity(`${path}.type`, "apparmor", "AppArmor must be RuntimeDefault or Localhost", w);
  },
  seLinuxOptions(v, path, w) {
    if (unset(v) || !baselineApplies(w)) return null;
    if (!isObj(v)) return { path, rule: "malformed", message: "seLinuxOptions is an object" };
    if (!unset(v.user) && v.user !== "") return podSecurity(`${path}.user`, "selinux", "the SELinux user may not be set", w);
    if (!unset(v.role) && v.role !== "") return podSecurity(`${path}.role`, "selinux", "the SELinux role may not be set", w);
    if (!unset(v.type) && !(typeof v.type === "string" && SELINUX_TYPES.has(v.type)))
      return podSecurity(`${path}.type`, "selinux", "the SELinux type must be a container type", w);
    return null;
  },
  windowsOptions(v, path, w) {
    if (unset(v) || !baselineApplies(w)) return null;
    if (!isObj(v)) return { path, rule: "malformed", message: "windowsOptions is an object" };
    if (unset(v.hostProcess) || v.hostProcess === false) return null;
    return podSecurity(`${path}.hostProcess`, "host-process", "Windows host processes are not allowed", w);
  },
  volumeSource(v, path, w) {
    if (unset(v)) return null;
    const source = path.slice(path.lastIndexOf(".") + 1);
    if (source === "hostPath" && baselineApplies(w)) return podSecurity(path, "host-path", "hostPath volumes are not allowed", w);
    if (source === "gitRepo" && baselineApplies(w))
      return podSecurity(path, "git-repo", "gitRepo volumes run git on the node (use a git artifact)", w);
    if (restrictedApplies(w) && !RESTRICTED_VOLUMES.has(source))
      return podSecurity(path, "volume-types", `${source} volumes are not allowed under restricted`, w);
    if (baselineApplies(w) && !NAMESPACED_VOLUMES.has(source) && !w.grants.capabilities.includes("node-storage"))
      return {
        path,
        rule: "node-storage",
        message: `${source} volumes mount storage the cluster shares, outside the workspace's claims: refused unless the workspace is granted node-storage (use a persistentVolumeClaim)`,
      };
    return null;
  },
} satisfies Record<string, Check>;

/** Members of a Workflow's status that may be sent as `{}` (none of them a spec the controller would run). */
const EMPTY_STATUS_OBJECTS = new Set(["nodes", "resourcesDuration", "taskResultsCompletionStatus", "outputs"]);

/** `SubmitWorkflow`'s kinds (server/workflow/workflow_server.go, pkg/apis/workflow/register.go). */
const CLUSTER_TEMPLATE_KINDS = new Set(["ClusterWorkflowTemplate", "clusterworkflowtemplate", "clusterworkflowtemplates", "cwftmpl"]);
const SUBMITTABLE_KINDS = new Set([
  ...CLUSTER_TEMPLATE_KINDS,
  "WorkflowTemplate",
  "workflowtemplate",
  "workflowtemplates",
  "wftmpl",
  "CronWorkflow",
  "cronworkflow",
  "cronworkflows",
  "cronwf",
]);

// ---------------------------------------------------------------------------------------------------------------
// The walk.

/** `.key`, or `["key"]` when the key is not a plain name. */
const member = (key: string) => (/^[A-Za-z_][A-Za-z0-9_]*$/.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`);

/** A reference to a ClusterWorkflowTemplate must name one the workspace may use. */
function clusterTemplateRef(obj: Record<string, unknown>, path: string, w: Walk): SpecRefusal | null {
  if (obj.clusterScope !== true) return null;
  if (literal(obj.name) && w.grants.clusterTemplates.includes(obj.name)) return null;
  return {
    path: `${path}.name`,
    rule: "cluster-template",
    message: `ClusterWorkflowTemplate ${JSON.stringify(obj.name)} is not one the workspace may use`,
  };
}

/**
 * Under restricted, each container must itself drop every capability and forbid privilege escalation, and run
 * as non-root under RuntimeDefault or Localhost seccomp (its own, or its pod's). Its pod's is the template's
 * securityContext, or else the workflow's: Argo takes one or the other whole (workflow/controller/workflowpod.go),
 * and template defaults are not counted on.
 */
function restrictedContainer(c: Record<string, unknown>, path: string, pod: unknown, w: Walk): SpecRefusal | null {
  const own = isObj(c.securityContext) ? c.securityContext : {};
  const podSc = isObj(pod) ? pod : {};
  const sc = `${path}.securityContext`;
  if (own.allowPrivilegeEscalation !== false)
    return podSecurity(`${sc}.allowPrivilegeEscalation`, "privilege-escalation", "each container sets allowPrivilegeEscalation: false", w);
  const drop = isObj(own.capabilities) ? own.capabilities.drop : undefined;
  if (!Array.isArray(drop) || !drop.includes("ALL"))
    return podSecurity(`${sc}.capabilities.drop`, "capabilities", 'each container drops capabilities ["ALL"]', w);
  if ((own.runAsNonRoot ?? podSc.runAsNonRoot) !== true)
    return podSecurity(`${sc}.runAsNonRoot`, "run-as-non-root", "runAsNonRoot is true, for the pod or each container", w);
  const seccomp =
    (isObj(own.seccompProfile) ? own.seccompProfile.type : undefined) ??
    (isObj(podSc.seccompProfile) ? podSc.seccompProfile.type : undefined);
  if (seccomp !== "RuntimeDefault" && seccomp !== "Localhost")
    return podSecurity(`${sc}.seccompProfile.type`, "seccomp", "seccomp is RuntimeDefault or Localhost, for the pod or each container", w);
  return null;
}

const CONTAINER_SHAPES = new Set(["Container", "ScriptTemplate", "UserContainer", "ContainerNode"]);

/** Where a walk stands: the pod securityContexts that apply to the containers below. */
interface Scope {
  workflowPod?: unknown;
  pod?: unknown;
  /** Inside `templateDefaults`: merged under templates, so not a pod of its own. */
  defaults?: boolean;
}

function walk(value: unknown, shapeName: string, path: string, w: Walk, scope: Scope): SpecRefusal | null {
  if (unset(value)) return null;
  const shape = SHAPES[shapeName];
  if (!shape) return { path, rule: "unknown-field", message: "not a field the gateway knows" };
  if (!isObj(value)) return { path, rule: "malformed", message: `${shapeName} is an object` };
  let inner = scope;
  if (shapeName === "WorkflowSpec") inner = { workflowPod: value.securityContext, pod: value.securityContext };
  else if (shapeName === "Template") inner = { ...scope, pod: value.securityContext ?? scope.workflowPod, defaults: false };
  else if (shapeName === "TemplateDefaults") inner = { ...scope, defaults: true };
  for (const [key, v] of Object.entries(value)) {
    const at = path === "" ? key : `${path}${member(key)}`;
    if (!Object.hasOwn(shape, key)) return { path: at, rule: "unknown-field", message: "not a field Argo knows here (names are exact)" };
    const rule = shape[key]!;
    const refusal = field(rule, v, at, w, inner);
    if (refusal) return refusal;
  }
  if (shapeName === "TemplateRef" || shapeName === "WorkflowTemplateRef") return clusterTemplateRef(value, path, w);
  if (CONTAINER_SHAPES.has(shapeName) && restrictedApplies(w) && !scope.defaults) return restrictedContainer(value, path, scope.pod, w);
  return null;
}

function field(rule: FieldRule, v: unknown, at: string, w: Walk, scope: Scope): SpecRefusal | null {
  if (rule === "plain") return null;
  if ("check" in rule) return CHECKS[rule.check](v, at, w);
  if ("refused" in rule) {
    if (unset(v) || (rule.unless !== undefined && w.grants.capabilities.includes(rule.unless))) return null;
    const grant = rule.unless ? ` unless the workspace is granted ${rule.unless}` : "";
    return { path: at, rule: rule.refused, message: `${rule.message}: refused${grant}` };
  }
  if ("one" in rule) return walk(v, rule.one, at, w, scope);
  if (unset(v)) return null;
  if ("map" in rule) {
    if (!isObj(v)) return { path: at, rule: "malformed", message: "an object" };
    for (const [k, item] of Object.entries(v)) {
      const r = walk(item, rule.map, `${at}${member(k)}`, w, scope);
      if (r) return r;
    }
    return null;
  }
  if (!Array.isArray(v)) return { path: at, rule: "malformed", message: "a list" };
  for (const [i, item] of v.entries()) {
    if ("list" in rule) {
      const r = walk(item, rule.list, `${at}[${i}]`, w, scope);
      if (r) return r;
      continue;
    }
    if (unset(item)) continue;
    if (!Array.isArray(item)) return { path: `${at}[${i}]`, rule: "malformed", message: "a list" };
    for (const [j, step] of item.entries()) {
      const r = walk(step, rule.grid, `${at}[${i}][${j}]`, w, scope);
      if (r) return r;
    }
  }
  return null;
}

// ---------------------------------------------------------------------------------------------------------------
// The routes that carry a body (pkg/apiclient/<service>/<service>.proto, `body: "*"`).

/** The request message of each route with a body, by resource, method and the path after the namespace. */
const BODY_ROUTES: Readonly<Record<string, Readonly<Record<string, string>>>> = {
  // `/workflows/{namespace}[/{name}/{action}]`
  workflows: {
    POST: "WorkflowCreateRequest",
    "POST lint": "WorkflowLintRequest",
    "POST submit": "WorkflowSubmitRequest",
    "PUT * resubmit": "WorkflowResubmitRequest",
    "PUT * retry": "WorkflowRetryRequest",
    "PUT * resume": "WorkflowResumeRequest",
    "PUT * suspend": "WorkflowSuspendRequest",
    "PUT * terminate": "WorkflowTerminateRequest",
    "PUT * stop": "WorkflowStopRequest",
    "PUT * set": "WorkflowSetRequest",
  },
  "workflow-templates": {
    POST: "WorkflowTemplateCreateRequest",
    "POST lint": "WorkflowTemplateLintRequest",
    "PUT *": "WorkflowTemplateUpdateRequest",
  },
  "cron-workflows": {
    POST: "CreateCronWorkflowRequest",
    "POST lint": "LintCronWorkflowRequest",
    "PUT *": "UpdateCronWorkflowRequest",
    "PUT * resume": "CronWorkflowResumeRequest",
    "PUT * suspend": "CronWorkflowSuspendRequest",
  },
  // `/archived-workflows/{uid}/{action}`: no namespace in the path.
  "archived-workflows": { "PUT retry": "RetryArchivedWorkflowRequest", "PUT resubmit": "ResubmitArchivedWorkflowRequest" },
};

/**
 * The request message Argo Server decodes from a body on `<method> /api/v1/<segments>`: a name from the table,
 * `argo-events` for sensors and event sources, `no-route` where Argo takes no body on such a path, or null where
 * no spec or power travels in a body (event payloads; GET and DELETE, which grpc-gateway reads from the query).
 */
export function requestMessage(method: string, segments: readonly string[]): string | null {
  const m = method.toUpperCase();
  const [resource, ...rest] = segments;
  if (m !== "POST" && m !== "PUT" && m !== "PATCH") return null;
  if (resource === "sensors" || resource === "event-sources") return "argo-events";
  const routes = resource === undefined ? undefined : BODY_ROUTES[resource];
  if (!routes) return null;
  // After the namespace (or, for the archive, the uid): a name, then an action; the name is `*` in the table
  // unless it is the whole rest (`lint`, `submit`).
  const after = rest.slice(1);
  const keys = after.length === 0 ? [m] : after.length === 1 ? [`${m} ${after[0]}`, `${m} *`] : [`${m} * ${after.slice(1).join("/")}`];
  for (const key of keys) if (after.length <= 2 && Object.hasOwn(routes, key)) return routes[key]!;
  return "no-route";
}

/**
 * Whether the body of `<method> /api/v1/<segments>` asks only what the workspace's grants allow. A refusal names
 * the field (a JSON path into the body) and the rule; 403 for a power not granted, 400 for a field Argo does not
 * know or a value of the wrong type.
 */
export function checkArgoBody(method: string, segments: readonly string[], body: unknown, grants: SpecGrants): Verdict {
  const message = requestMessage(method, segments);
  if (message === null) return allow();
  if (message === "no-route") return refuse("no Argo route takes a body here", "NOT_FOUND");
  if (message === "argo-events") {
    if (grants.capabilities.includes("argo-events")) return allow();
    return refused({
      path: "",
      rule: "argo-events",
      message: "sensors and event sources run pods and triggers not classed here: refused unless the workspace is granted argo-events",
    });
  }
  const w: Walk = { grants };
  const found = walk(body, message, "", w, {}) ?? submitted(message, body, w);
  return found ? refused(found) : allow();
}

/** `submit` of a ClusterWorkflowTemplate must name one the workspace may use. */
function submitted(message: string, body: unknown, w: Walk): SpecRefusal | null {
  if (message !== "WorkflowSubmitRequest" || !isObj(body) || !CLUSTER_TEMPLATE_KINDS.has(String(body.resourceKind))) return null;
  const r = clusterTemplateRef({ clusterScope: true, name: body.resourceName }, "", w);
  return r && { ...r, path: "resourceName" };
}

function refused(r: SpecRefusal): Verdict {
  const code = r.rule === "unknown-field" || r.rule === "malformed" ? "BAD_REQUEST" : "FORBIDDEN";
  const at = r.path === "" ? "the body" : r.path;
  return refuse(`${at}: ${r.message} (rule ${r.rule})`, code, { field: r.path, rule: r.rule });
}

/** Every shape the table names, for the test that each one it refers to exists. */
export const specShapes = (): Readonly<Record<string, Shape>> => SHAPES;
export type { FieldRule, Shape };
