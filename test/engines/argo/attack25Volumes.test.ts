/**
 * An independent attacker's pass over issue 25 (attack25), class 6: Pod Security `baseline` forbids only hostPath
 * among volume sources, so under the default the gateway passes every other one (src/engines/argo/specPolicy.ts
 * `volumeSource`). Several of them name storage outside the namespace, by an address the cluster shares, and are
 * mounted by the node (its kernel, its cloud credentials), not by the pod's network or service account:
 * - `nfs: {server, path}` mounts any export the node may reach: with nfs-subdir-external-provisioner (one export,
 *   a directory per PersistentVolume) `path: /export` is every workspace's claims; NetworkPolicies do not apply to
 *   the node's own mount.
 * - `gcePersistentDisk.pdName`, `awsElasticBlockStore.volumeID`, `azureDisk.diskURI`, `cinder.volumeID`, `rbd`,
 *   `iscsi`, `fc.wwids`, `cephfs`, `glusterfs`: a disk or share by its infrastructure name, the same one that backs
 *   another namespace's PersistentVolume (CSI migration still translates these inline volumes).
 * The table refuses a PersistentVolume named by `volumeName`, which is the same reach by a Kubernetes name.
 * Each case was a finding (the body reached Argo); such volumes now need the workspace's `node-storage` grant.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { asAdmin, call, createTestKey, envWith, stubUrl, uniqueTag, type CallOptions } from "../../helpers";

const tag = uniqueTag("argovol");
const env = envWith({ ARGO_URL: stubUrl(`/argo/${tag}`) });
const records = async () =>
  (await (await fetch(stubUrl(`/engine-records/${tag}`))).json()) as { method: string; path: string; body: string }[];
const as = (key: string, path: string, opts: CallOptions = {}) =>
  call(path, { ...opts, env, headers: { authorization: `Bearer ${key}`, ...(opts.headers as Record<string, string>) } });

const ws = uniqueTag("vol");
const role = uniqueTag("r");
let user: string;

const withVolume = (volume: Record<string, unknown>) => ({
  apiVersion: "argoproj.io/v1alpha1",
  kind: "Workflow",
  metadata: { generateName: "read-", namespace: ws },
  spec: {
    entrypoint: "main",
    volumes: [{ name: "v", ...volume }],
    templates: [
      {
        name: "main",
        container: { image: "busybox", command: ["ls", "-R", "/mnt"], volumeMounts: [{ name: "v", mountPath: "/mnt" }] },
      },
    ],
  },
});

beforeAll(async () => {
  const res = await asAdmin(`/admin/workspaces/${ws}`, { method: "PUT", json: { roles: [role], hideForUnauthorized: false }, env });
  expect(res.status, await res.clone().text()).toBe(201);
  user = (await createTestKey({ tenant: "acme", subject: uniqueTag("u"), roles: [role] }, env)).key;
});

describe("storage named by the cluster's shared addresses, under the default baseline (attack25)", () => {
  it.each([
    ["an NFS export (every claim of an nfs-subdir provisioner)", { nfs: { server: "nfs.storage.svc", path: "/export" } }],
    ["a GCE persistent disk by name", { gcePersistentDisk: { pdName: "pvc-0b1e-other-workspace" } }],
    ["an EBS volume by id", { awsElasticBlockStore: { volumeID: "vol-0123456789abcdef0" } }],
    [
      "an Azure disk by URI",
      { azureDisk: { diskName: "d", diskURI: "/subscriptions/s/resourceGroups/g/providers/Microsoft.Compute/disks/d" } },
    ],
    ["a Ceph RBD image", { rbd: { monitors: ["10.0.0.1:6789"], image: "other-image", pool: "kube" } }],
  ])("%s is refused unless granted", async (_what, volume) => {
    const before = (await records()).length;
    const res = await as(user, `/argo/api/v1/workflows/${ws}`, { method: "POST", json: { namespace: ws, workflow: withVolume(volume) } });
    expect(res.status, await res.clone().text()).toBe(403);
    expect((await records()).length).toBe(before);
  });

  it("a claim of the workspace's own passes", async () => {
    const res = await as(user, `/argo/api/v1/workflows/${ws}`, {
      method: "POST",
      json: { namespace: ws, workflow: withVolume({ persistentVolumeClaim: { claimName: "mine" } }) },
    });
    expect(res.status, await res.clone().text()).toBeLessThan(300);
  });
});
