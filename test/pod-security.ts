// The Kubernetes Pod Security Standards, "restricted" profile (which includes "baseline"), as
// checks on a pod template read from a manifest: one entry per control, named as the standard
// names it (https://kubernetes.io/docs/concepts/security/pod-security-standards/), with the fields
// it restricts. Each check returns what violates it (empty: the control passes).
import type { Yaml } from './yaml-lite.js';

type Obj = { [key: string]: Yaml };
const obj = (v: Yaml | undefined): Obj => (v !== null && typeof v === 'object' && !Array.isArray(v) ? v : {});
const list = (v: Yaml | undefined): Yaml[] => (Array.isArray(v) ? v : []);

/** The pod spec and metadata of a Pod, or of a workload's pod template. */
export function podOf(doc: Yaml): { meta: Obj; spec: Obj } {
  const d = obj(doc);
  if (d.kind === 'Pod') return { meta: obj(d.metadata), spec: obj(d.spec) };
  const template = obj(obj(obj(d.spec).jobTemplate).spec).template ?? obj(d.spec).template;
  return { meta: obj(obj(template).metadata), spec: obj(obj(template).spec) };
}

/** Every container of the pod, with where it is: containers, initContainers, ephemeralContainers. */
function containers(spec: Obj): Array<{ where: string; c: Obj }> {
  return ['containers', 'initContainers', 'ephemeralContainers'].flatMap((field) =>
    list(spec[field]).map((c, i) => ({ where: `${field}[${i}]`, c: obj(c) })),
  );
}

/** The pod's securityContext and each container's, with where each is. */
function contexts(spec: Obj): Array<{ where: string; sc: Obj }> {
  return [{ where: 'spec.securityContext', sc: obj(spec.securityContext) }, ...containers(spec).map(({ where, c }) => ({ where: `${where}.securityContext`, sc: obj(c.securityContext) }))];
}

export interface Control {
  profile: 'baseline' | 'restricted';
  name: string;
  rule: string;
  check: (pod: { meta: Obj; spec: Obj }) => string[];
}

const BASELINE_CAPS = ['AUDIT_WRITE', 'CHOWN', 'DAC_OVERRIDE', 'FOWNER', 'FSETID', 'KILL', 'MKNOD', 'NET_BIND_SERVICE', 'SETFCAP', 'SETGID', 'SETPCAP', 'SETUID', 'SYS_CHROOT'];
const SAFE_SYSCTLS = ['kernel.shm_rmid_forced', 'net.ipv4.ip_local_port_range', 'net.ipv4.ip_unprivileged_port_start', 'net.ipv4.tcp_syncookies', 'net.ipv4.ping_group_range', 'net.ipv4.ip_local_reserved_ports', 'net.ipv4.tcp_keepalive_time', 'net.ipv4.tcp_fin_timeout', 'net.ipv4.tcp_keepalive_intvl', 'net.ipv4.tcp_keepalive_probes'];
const VOLUME_TYPES = ['configMap', 'csi', 'downwardAPI', 'emptyDir', 'ephemeral', 'persistentVolumeClaim', 'projected', 'secret'];

export const CONTROLS: Control[] = [
  {
    profile: 'baseline', name: 'HostProcess', rule: 'windowsOptions.hostProcess unset or false',
    check: ({ spec }) => contexts(spec).filter(({ sc }) => obj(sc.windowsOptions).hostProcess === true).map(({ where }) => `${where}.windowsOptions.hostProcess`),
  },
  {
    profile: 'baseline', name: 'Host Namespaces', rule: 'hostNetwork, hostPID, hostIPC unset or false',
    check: ({ spec }) => ['hostNetwork', 'hostPID', 'hostIPC'].filter((f) => spec[f] === true).map((f) => `spec.${f}`),
  },
  {
    profile: 'baseline', name: 'Privileged Containers', rule: 'securityContext.privileged unset or false',
    check: ({ spec }) => contexts(spec).filter(({ sc }) => sc.privileged === true).map(({ where }) => `${where}.privileged`),
  },
  {
    profile: 'baseline', name: 'Capabilities (baseline)', rule: `capabilities.add only ${BASELINE_CAPS.join(', ')}`,
    check: ({ spec }) => contexts(spec).flatMap(({ where, sc }) => list(obj(sc.capabilities).add).filter((c) => !BASELINE_CAPS.includes(String(c))).map((c) => `${where}.capabilities.add ${String(c)}`)),
  },
  {
    profile: 'baseline', name: 'HostPath Volumes', rule: 'no hostPath volume',
    check: ({ spec }) => list(spec.volumes).filter((v) => 'hostPath' in obj(v)).map((v) => `volume ${String(obj(v).name)}`),
  },
  {
    profile: 'baseline', name: 'Host Ports', rule: 'ports[*].hostPort unset or 0',
    check: ({ spec }) => containers(spec).flatMap(({ where, c }) => list(c.ports).filter((p) => (obj(p).hostPort ?? 0) !== 0).map(() => `${where}.ports hostPort`)),
  },
  {
    profile: 'baseline', name: 'AppArmor', rule: 'appArmorProfile.type and the apparmor annotations unset, RuntimeDefault or Localhost',
    check: ({ meta, spec }) => [
      ...contexts(spec).filter(({ sc }) => !['RuntimeDefault', 'Localhost', undefined].includes(obj(sc.appArmorProfile).type as string)).map(({ where }) => `${where}.appArmorProfile`),
      ...Object.entries(obj(meta.annotations)).filter(([k, v]) => k.startsWith('container.apparmor.security.beta.kubernetes.io/') && v !== 'runtime/default' && !String(v).startsWith('localhost/')).map(([k]) => k),
    ],
  },
  {
    profile: 'baseline', name: 'SELinux', rule: 'seLinuxOptions.type unset or container_t, container_init_t, container_kvm_t, container_engine_t; user and role unset',
    check: ({ spec }) => contexts(spec).flatMap(({ where, sc }) => {
      const se = obj(sc.seLinuxOptions);
      const bad = se.type !== undefined && !['container_t', 'container_init_t', 'container_kvm_t', 'container_engine_t'].includes(String(se.type));
      return bad || se.user !== undefined || se.role !== undefined ? [`${where}.seLinuxOptions`] : [];
    }),
  },
  {
    profile: 'baseline', name: '/proc Mount Type', rule: 'procMount unset or Default',
    check: ({ spec }) => contexts(spec).filter(({ sc }) => sc.procMount !== undefined && sc.procMount !== 'Default').map(({ where }) => `${where}.procMount`),
  },
  {
    profile: 'baseline', name: 'Seccomp (baseline)', rule: 'seccompProfile.type not Unconfined',
    check: ({ spec }) => contexts(spec).filter(({ sc }) => obj(sc.seccompProfile).type === 'Unconfined').map(({ where }) => `${where}.seccompProfile Unconfined`),
  },
  {
    profile: 'baseline', name: 'Sysctls', rule: 'securityContext.sysctls only the safe set',
    check: ({ spec }) => list(obj(spec.securityContext).sysctls).filter((s) => !SAFE_SYSCTLS.includes(String(obj(s).name))).map((s) => `sysctl ${String(obj(s).name)}`),
  },
  {
    profile: 'restricted', name: 'Volume Types', rule: `volumes only of the types ${VOLUME_TYPES.join(', ')}`,
    check: ({ spec }) => list(spec.volumes).flatMap((v) => {
      const types = Object.keys(obj(v)).filter((k) => k !== 'name');
      return types.length === 1 && VOLUME_TYPES.includes(types[0]!) ? [] : [`volume ${String(obj(v).name)}: ${types.join(', ')}`];
    }),
  },
  {
    profile: 'restricted', name: 'Privilege Escalation', rule: 'every container: securityContext.allowPrivilegeEscalation false',
    check: ({ spec }) => containers(spec).filter(({ c }) => obj(c.securityContext).allowPrivilegeEscalation !== false).map(({ where }) => `${where}.securityContext.allowPrivilegeEscalation`),
  },
  {
    profile: 'restricted', name: 'Running as Non-root', rule: 'runAsNonRoot true on the pod (and false on no container) or on every container',
    check: ({ spec }) => {
      const pod = obj(spec.securityContext).runAsNonRoot;
      return containers(spec).filter(({ c }) => {
        const own = obj(c.securityContext).runAsNonRoot;
        return own === false || (own !== true && pod !== true);
      }).map(({ where }) => `${where}: runAsNonRoot`);
    },
  },
  {
    profile: 'restricted', name: 'Running as Non-root user', rule: 'runAsUser unset or not 0',
    check: ({ spec }) => contexts(spec).filter(({ sc }) => sc.runAsUser === 0).map(({ where }) => `${where}.runAsUser 0`),
  },
  {
    profile: 'restricted', name: 'Seccomp', rule: 'seccompProfile.type RuntimeDefault or Localhost on the pod, or on every container; Unconfined nowhere',
    check: ({ spec }) => {
      const ok = (sc: Obj) => ['RuntimeDefault', 'Localhost'].includes(obj(sc.seccompProfile).type as string);
      const pod = ok(obj(spec.securityContext));
      return containers(spec).filter(({ c }) => {
        const sc = obj(c.securityContext);
        return obj(sc.seccompProfile).type !== undefined ? !ok(sc) : !pod;
      }).map(({ where }) => `${where}: seccompProfile`);
    },
  },
  {
    profile: 'restricted', name: 'Capabilities', rule: 'every container drops ALL; adds at most NET_BIND_SERVICE',
    check: ({ spec }) => containers(spec).flatMap(({ where, c }) => {
      const caps = obj(obj(c.securityContext).capabilities);
      return [
        ...(list(caps.drop).includes('ALL') ? [] : [`${where}: capabilities.drop lacks ALL`]),
        ...list(caps.add).filter((a) => a !== 'NET_BIND_SERVICE').map((a) => `${where}: capabilities.add ${String(a)}`),
      ];
    }),
  },
];
