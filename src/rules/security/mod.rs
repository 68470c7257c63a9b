//! Attack surface and least-privilege rules.

use crate::rules::Rule;

pub mod automount_service_account_token;
pub mod capabilities_not_dropped;
pub mod cluster_admin_binding;
pub mod common;
pub mod dangerous_capabilities;
pub mod host_ipc;
pub mod host_network;
pub mod host_path_volume;
pub mod host_pid;
pub mod host_port;
pub mod host_process;
pub mod missing_seccomp_profile;
pub mod namespace_without_network_policy;
pub mod no_network_policy;
pub mod privilege_escalation;
pub mod privileged;
pub mod proc_mount;
pub mod rbac_binding_pod_exec;
pub mod rbac_pod_exec;
pub mod rbac_secrets_read;
pub mod run_as_root;
pub mod secret_in_env_literal;
pub mod sensitive_configmap_content;
pub mod wildcard_rbac;
pub mod writable_root_filesystem;

/// The rules of this area.
pub static RULES: &[&dyn Rule] = &[
    &privileged::PrivilegedContainer,
    &privilege_escalation::PrivilegeEscalationAllowed,
    &run_as_root::RunAsRoot,
    &writable_root_filesystem::WritableRootFilesystem,
    &dangerous_capabilities::DangerousCapabilities,
    &capabilities_not_dropped::CapabilitiesNotDropped,
    &host_network::HostNetwork,
    &host_pid::HostPid,
    &host_ipc::HostIpc,
    &host_path_volume::HostPathVolume,
    &host_port::HostPort,
    &automount_service_account_token::AutomountServiceAccountToken,
    &missing_seccomp_profile::MissingSeccompProfile,
    &secret_in_env_literal::SecretInEnvLiteral,
    &sensitive_configmap_content::SensitiveConfigmapContent,
    &wildcard_rbac::WildcardRbac,
    &cluster_admin_binding::ClusterAdminBinding,
    &rbac_pod_exec::RbacPodExec,
    &rbac_binding_pod_exec::RbacBindingPodExec,
    &rbac_secrets_read::RbacSecretsRead,
    &no_network_policy::NoNetworkPolicy,
    &namespace_without_network_policy::NamespaceWithoutNetworkPolicy,
    &proc_mount::ProcMount,
    &host_process::HostProcess,
];
