"""One mutation per manifest rule (see static_mutations.py)."""

from __future__ import annotations

from static_mutations import Edit, Mutation


def _container(deployment: str, container: str, body: str, kind: str = "Deployment",
               api: str = "apps/v1") -> str:
    indented = "\n".join("          " + line for line in body.strip().splitlines())
    return (f"apiVersion: {api}\nkind: {kind}\nmetadata:\n  name: {deployment}\nspec:\n"
            f"  template:\n    spec:\n      containers:\n        - name: {container}\n"
            f"{indented}\n")


def _pod(deployment: str, body: str, kind: str = "Deployment") -> str:
    indented = "\n".join("      " + line for line in body.strip().splitlines())
    return (f"apiVersion: apps/v1\nkind: {kind}\nmetadata:\n  name: {deployment}\nspec:\n"
            f"  template:\n    spec:\n{indented}\n")


def _delete(api: str, kind: str, name: str) -> str:
    return f"$patch: delete\napiVersion: {api}\nkind: {kind}\nmetadata:\n  name: {name}\n"


NP = "base/network/networkpolicies.yaml"
BOTH_OVERLAYS = ("overlays/staging/kustomization.yaml", "overlays/production/kustomization.yaml")

MUTATIONS = [
    Mutation("K8S-SCHEMA", "a misspelt container field (strict schema)",
             base_patches=(_container("backend", "backend", "imagePullPolicyy: Always"),)),
    Mutation("K8S-CRD", "a Traefik Middleware that configures no middleware",
             extra_resource="apiVersion: traefik.io/v1alpha1\nkind: Middleware\n"
                            "metadata:\n  name: broken\nspec: {}\n"),
    Mutation("PSS-RESTRICTED", "frontend pod runs as UID 0", variant="uid-0",
             base_patches=(_pod("frontend", "securityContext:\n  runAsNonRoot: false\n"
                                            "  runAsUser: 0"),)),
    Mutation("BP-READ-ONLY-ROOT-FS", "backend root filesystem writable",
             base_patches=(_container("backend", "backend",
                                      "securityContext:\n  readOnlyRootFilesystem: false"),)),
    Mutation("PSS-RESTRICTED", "backend allows privilege escalation",
             base_patches=(_container("backend", "backend",
                                      "securityContext:\n  allowPrivilegeEscalation: true"),),
             variant="escalation"),
    Mutation("PSS-RESTRICTED", "backend adds NET_ADMIN", variant="capabilities",
             base_patches=(_container("backend", "backend",
                                      "securityContext:\n  capabilities:\n"
                                      "    add: [NET_ADMIN]"),)),
    Mutation("PSS-RESTRICTED", "backend is privileged", variant="privileged",
             base_patches=(_container("backend", "backend",
                                      "securityContext:\n  privileged: true\n"
                                      "  allowPrivilegeEscalation: true"),)),
    Mutation("PSS-RESTRICTED", "backend shares the host PID namespace",
             base_patches=(_pod("backend", "hostPID: true"),), variant="host-pid"),
    Mutation("BP-RESOURCES", "rs-init Job without a CPU limit",
             base_patches=(_container("mongodb-rs-init-bff", "rs-init",
                                      "resources:\n  limits:\n    cpu: null", "Job",
                                      "batch/v1"),)),
    Mutation("BP-LIVENESS-PROBE", "mongod without liveness probe",
             base_patches=(_container("mongodb-bff", "mongod", "livenessProbe: null",
                                      "StatefulSet"),)),
    Mutation("BP-READINESS-PROBE", "mongod without readiness probe",
             base_patches=(_container("mongodb-bff", "mongod", "readinessProbe: null",
                                      "StatefulSet"),)),
    Mutation("BP-PROBES-DISTINCT", "mongod readiness probe copied from liveness",
             base_patches=(_container("mongodb-bff", "mongod", """
readinessProbe:
  exec: null
  tcpSocket:
    port: mongodb
  initialDelaySeconds: 30
  periodSeconds: 20
  timeoutSeconds: 5
  failureThreshold: 6
""", "StatefulSet"),)),
    Mutation("BP-IMAGE-TAG", "rs-init image without a tag",
             base_patches=(_container("mongodb-rs-init-bff", "rs-init",
                                      "image: docker.io/library/mongo", "Job", "batch/v1"),)),
    Mutation("BP-PDB", "frontend PodDisruptionBudget removed",
             base_patches=(_delete("policy/v1", "PodDisruptionBudget", "frontend"),)),
    Mutation("BP-SPREAD", "frontend without topology spread",
             base_patches=(_pod("frontend", "topologySpreadConstraints: null"),)),
    Mutation("BP-NETPOL-COVERAGE", "frontend NetworkPolicy removed",
             base_patches=(_delete("networking.k8s.io/v1", "NetworkPolicy", "frontend"),)),
    Mutation("BP-NETPOL-DEFAULT-DENY", "default-deny policy removed",
             base_patches=(_delete("networking.k8s.io/v1", "NetworkPolicy",
                                   "default-deny-all"),)),
    Mutation("BP-CONFIGMAP-NO-SECRETS", "a password in a ConfigMap",
             base_patches=("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: mongodb-rs-init\n"
                           "data:\n  ADMIN_PASSWORD: hunter2\n",)),
    Mutation("BP-ENV-NO-LITERAL-SECRETS", "a literal API token in env",
             base_patches=(_container("backend", "backend",
                                      "env:\n  - name: API_TOKEN\n    value: abc123"),)),
    Mutation("BP-SA-TOKEN", "frontend mounts the default ServiceAccount token",
             base_patches=(_pod("frontend", "automountServiceAccountToken: true"),)),
    Mutation("PLAN-INGRESS-TLS", "TLS secret renamed in both overlays",
             edits=tuple(Edit(f, "-tls\n", "-certificate\n") for f in BOTH_OVERLAYS)),
    Mutation("PLAN-INGRESS-ISSUER", "staging issuer in both overlays",
             edits=tuple(Edit(f, "value: letsencrypt-prod", "value: letsencrypt-staging")
                         for f in BOTH_OVERLAYS)),
    Mutation("PLAN-INGRESS-CLASS", "nginx ingress class",
             edits=(Edit("base/ingress/ingress.yaml", "ingressClassName: traefik",
                         "ingressClassName: nginx"),)),
    Mutation("PLAN-INGRESS-HOST", "both overlays serve another host",
             edits=(Edit(BOTH_OVERLAYS[0], "vinylvault.antisozializer.org", "vv.example.org", -1),
                    Edit(BOTH_OVERLAYS[1], "vinylvault.loitzl.com", "vv.example.org", -1))),
    Mutation("PLAN-INGRESS-PATHS", "the backend exposed on /graphql",
             json_patches=(("Ingress", "vinylvault",
                            "- op: replace\n  path: /spec/rules/0/http/paths/1/backend/service\n"
                            "  value: {name: backend, port: {number: 4000}}\n"),)),
    Mutation("PLAN-STORAGECLASS", "archiveOnDelete off",
             edits=(Edit("base/storage/storageclass-nfs-mongodb.yaml",
                         'archiveOnDelete: "true"', 'archiveOnDelete: "false"'),)),
    Mutation("PLAN-MONGO-STORAGE", "Mongo volumes on local-path",
             edits=(Edit("base/mongodb/mongodb-bff.yaml", "storageClassName: nfs-mongodb",
                         "storageClassName: local-path"),
                    Edit("base/mongodb/mongodb-backend.yaml", "storageClassName: nfs-mongodb",
                         "storageClassName: local-path"),
                    Edit("overlays/production/patches/mongodb.yaml",
                         "storageClassName: nfs-mongodb", "storageClassName: local-path", 2))),
    Mutation("PLAN-MONGO-SIZE", "BFF volumes of 15Gi in staging",
             edits=(Edit("base/mongodb/mongodb-bff.yaml", "storage: 10Gi", "storage: 15Gi"),)),
    Mutation("PLAN-MONGO-REPLSET", "mongod started with another replica set name",
             edits=(Edit("base/mongodb/mongodb-bff.yaml", '"--replSet", "rs-bff"',
                         '"--replSet", "rs-sessions"'),)),
    Mutation("PLAN-MONGO-RS-INIT", "init Jobs configured for one member",
             edits=(Edit("base/mongodb/rs-init.yaml", 'value: "3"', 'value: "1"', 2),)),
    Mutation("PLAN-MONGO-SECURITY", "BFF Mongo with fsGroup 1000",
             edits=(Edit("base/mongodb/mongodb-bff.yaml", "fsGroup: 999", "fsGroup: 1000"),)),
    Mutation("PLAN-MONGO-HEADLESS", "BFF Mongo Service gets a cluster IP",
             edits=(Edit("base/mongodb/mongodb-bff.yaml", "  clusterIP: None\n", ""),)),
    Mutation("PLAN-MONGO-ISOLATION", "the frontend may reach the BFF Mongo",
             json_patches=(("NetworkPolicy", "mongodb-bff",
                            "- op: add\n  path: /spec/ingress/0/from/-\n"
                            "  value: {podSelector: {matchLabels: {app: frontend}}}\n"),)),
    Mutation("PLAN-APP-CONTRACT", "BFF readiness on /health",
             edits=(Edit("base/app/bff.yaml", "path: /ready", "path: /health"),)),
    Mutation("PLAN-APP-RESOURCES", "frontend requests 64Mi",
             edits=(Edit("base/app/frontend.yaml", "memory: 128Mi", "memory: 64Mi"),)),
    Mutation("PLAN-SERVICES", "BFF Service without session affinity",
             edits=(Edit("base/app/bff.yaml", "sessionAffinity: ClientIP",
                         "sessionAffinity: None"),
                    Edit("base/app/bff.yaml", "  sessionAffinityConfig:\n    clientIP:\n"
                                              "      timeoutSeconds: 10800\n", ""))),
    Mutation("PLAN-HPA", "frontend HPA up to 6 replicas",
             edits=(Edit("base/app/frontend.yaml", "maxReplicas: 4", "maxReplicas: 6"),)),
    Mutation("PLAN-REFERENCES", "backend reads a key app-secrets does not have",
             base_patches=(_container("backend", "backend", """
env:
  - name: EXTRA
    valueFrom:
      secretKeyRef:
        name: app-secrets
        key: NOT_A_KEY
"""),)),
    # Production patches this StatefulSet, so only staging renders without it.
    Mutation("PLAN-INVENTORY", "the backend's Mongo StatefulSet removed",
             base_patches=(_delete("apps/v1", "StatefulSet", "mongodb-backend"),),
             trees=("staging",)),
    Mutation("PLAN-NFS-VALUES", "provisioner values with reclaimPolicy Delete",
             edits=(Edit("storage/nfs-provisioner-values.yaml", "reclaimPolicy: Retain",
                         "reclaimPolicy: Delete"),),
             trees=("storage",)),
    Mutation("OVL-NAMESPACE", "overlays no longer create their Namespace",
             edits=tuple(Edit(f, "  - namespace.yaml\n", "") for f in BOTH_OVERLAYS)),
    Mutation("OVL-NO-STAGING-IMAGES", "production runs the frontend's latest-staging",
             edits=(Edit(BOTH_OVERLAYS[1], "vinylvault-frontend\n    newTag: sha-3f9c2ab",
                         "vinylvault-frontend\n    newTag: latest-staging"),)),
    Mutation("OVL-ONLY-EXPECTED-DIFFS", "production logs at debug",
             edits=(Edit(BOTH_OVERLAYS[1], "LOG_LEVEL=info", "LOG_LEVEL=debug"),)),
    Mutation("OVL-PROD-NOT-SMALLER", "production frontend CPU limit below staging's",
             edits=(Edit("overlays/production/patches/scale.yaml", "cpu: 500m", "cpu: 200m"),)),
    # Hardening (vvgate/rules/manifest/hardening.py, pod_security.py): each defect once in
    # base, and where an overlay can introduce it, once there too.
    Mutation("PSS-RESTRICTED", "backend mounts a hostPath", variant="host-path",
             base_patches=(_pod("backend", "volumes:\n  - name: node-run\n    hostPath:\n"
                                           "      path: /var/run"),)),
    Mutation("PSS-RESTRICTED", "frontend pod without its seccomp profile",
             base_patches=(_pod("frontend", "securityContext:\n  seccompProfile: null"),),
             variant="seccomp"),
    Mutation("PSS-RESTRICTED", "the staging frontend binds a port of the node",
             base_patches=(), trees=("staging",), variant="host-port",
             edits=(Edit("overlays/staging/kustomization.yaml", "patches:\n",
                         "patches:\n  - target: {kind: Deployment, name: frontend}\n"
                         "    patch: |-\n"
                         "      - op: add\n"
                         "        path: /spec/template/spec/containers/0/ports/0/hostPort\n"
                         "        value: 8080\n"),)),
    Mutation("PSS-RESTRICTED", "the rs-init Job's container may escalate privileges",
             base_patches=(_container("mongodb-rs-init-bff", "rs-init",
                                      "securityContext:\n  allowPrivilegeEscalation: true",
                                      "Job", "batch/v1"),), variant="job-escalation"),
    Mutation("PSS-RESTRICTED", "the BFF pod sets a sysctl outside the safe set",
             base_patches=(_pod("bff", "securityContext:\n  sysctls:\n"
                                       "    - {name: net.core.somaxconn, value: '1024'}"),),
             variant="sysctl"),
    # NetworkPolicy flows against the contract's (vvgate/rules/manifest/network_flows.py).
    Mutation("PLAN-NETPOL-FLOWS", "the frontend may call the backend",
             edits=(Edit(NP, "              app: bff\n      ports:\n        - protocol: TCP\n"
                             "          port: 4000\n",
                         "              app: bff\n        - podSelector:\n"
                         "            matchLabels:\n              app: frontend\n"
                         "      ports:\n        - protocol: TCP\n          port: 4000\n"),)),
    Mutation("PLAN-NETPOL-FLOWS", "the backend may reach the home network",
             edits=(Edit(NP, "    # GitHub API and release metadata lookups.\n",
                         "    - to:\n        - ipBlock: {cidr: 192.168.1.0/24}\n"
                         "      ports: [{protocol: TCP, port: 5432}]\n"
                         "    # GitHub API and release metadata lookups.\n"),),
             variant="private-network"),
    Mutation("PLAN-NETPOL-FLOWS", "the BFF may call the backend on every port",
             edits=(Edit(NP, "              app: backend\n      ports:\n        - protocol: TCP\n"
                             "          port: 4000\n    - to:",
                         "              app: backend\n    - to:"),), variant="every-port"),
    Mutation("PLAN-NETPOL-NEEDED", "the BFF's egress to the backend is gone",
             edits=(Edit(NP, "    - to:\n        - podSelector:\n            matchLabels:\n"
                             "              app: backend\n      ports:\n        - protocol: TCP\n"
                             "          port: 4000\n", ""),)),
    Mutation("PLAN-NETPOL-NEEDED", "the frontend admits no ingress at all",
             json_patches=(("NetworkPolicy", "frontend",
                            "- op: replace\n  path: /spec/ingress\n  value: []\n"),),
             variant="frontend"),
    Mutation("BP-INTERNAL-CLUSTERIP", "the backend Service made a LoadBalancer",
             base_patches=("apiVersion: v1\nkind: Service\nmetadata:\n  name: backend\n"
                           "spec:\n  type: LoadBalancer\n",)),
    Mutation("BP-INTERNAL-CLUSTERIP", "the BFF's MongoDB given an external IP",
             base_patches=("apiVersion: v1\nkind: Service\nmetadata:\n"
                           "  name: mongodb-bff-headless\nspec:\n"
                           "  externalIPs: [192.168.1.77]\n",), variant="mongo"),
    Mutation("BP-IMAGE-REGISTRY", "overlays pull the BFF from another registry",
             edits=tuple(Edit(f, "- name: ghcr.io/mloitzl/vinylvault-bff\n",
                              "- name: ghcr.io/mloitzl/vinylvault-bff\n"
                              "    newName: quay.io/someone/vinylvault-bff\n")
                         for f in BOTH_OVERLAYS)),
    Mutation("BP-IMAGE-REGISTRY", "rs-init Jobs pull mongo from a personal Docker Hub account",
             edits=(Edit("base/mongodb/rs-init.yaml", "image: docker.io/library/mongo:",
                         "image: someone/mongo:", 2),), variant="base"),
    Mutation("BP-NETPOL-OPEN", "the backend's policy admits traffic from anywhere",
             edits=(Edit("base/network/networkpolicies.yaml",
                         "  ingress:\n    - from:\n        - podSelector:\n"
                         "            matchLabels:\n              app: bff\n"
                         "      ports:\n        - protocol: TCP\n          port: 4000\n",
                         "  ingress:\n    - ports:\n        - protocol: TCP\n"
                         "          port: 4000\n"),)),
    Mutation("BP-NETPOL-OPEN", "the BFF may reach private addresses on 443",
             edits=(Edit("base/network/networkpolicies.yaml",
                         'except: ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"]',
                         'except: ["10.0.0.0/8"]', 2),), variant="private-egress"),
    Mutation("BP-PSS-ENFORCE", "both namespaces labelled privileged",
             edits=tuple(Edit(f"overlays/{env}/namespace.yaml", "enforce: restricted",
                              "enforce: privileged") for env in ("staging", "production"))),
    Mutation("PLAN-MONGO-AUTH", "the BFF's mongod without --keyFile",
             edits=(Edit("base/mongodb/mongodb-bff.yaml",
                         '"--bind_ip_all", "--keyFile", "/keyfile/keyfile"]',
                         '"--bind_ip_all"]'),)),
    Mutation("PLAN-NODE-ENV", "both overlays configure NODE_ENV=development",
             edits=tuple(Edit(f, "NODE_ENV=production", "NODE_ENV=development")
                         for f in BOTH_OVERLAYS)),
    Mutation("PLAN-NODE-ENV", "the backend overrides NODE_ENV in base",
             base_patches=(_container("backend", "backend",
                                      "env:\n  - name: NODE_ENV\n    value: development"),),
             variant="base"),
]
