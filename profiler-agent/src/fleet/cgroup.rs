//! Container id and systemd unit of a process, read from `/proc/PID/cgroup`.
//!
//! Container runtimes name cgroups after the container id (64 hex digits) in
//! a few layouts:
//! - docker, cgroupfs driver: `/docker/<id>`;
//! - docker, systemd driver: `/system.slice/docker-<id>.scope`;
//! - containerd (and Kubernetes with it): `cri-containerd-<id>.scope`, or
//!   `/kubepods/<qos>/pod<uid>/<id>` with the cgroupfs driver;
//! - cri-o: `crio-<id>.scope`; podman: `libpod-<id>.scope` (and
//!   `libpod-conmon-<id>.scope` for its monitor, not the container).

/// Length of a container id in hex digits.
const CONTAINER_ID_LEN: usize = 64;

/// Prefixes runtimes put before the id in a systemd scope name.
const SCOPE_PREFIXES: &[&str] = &["docker-", "cri-containerd-", "crio-", "libpod-"];

/// What a process's cgroup path says about where it runs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CgroupInfo {
    /// Full container id, when the process runs in a container.
    pub container: Option<String>,
    /// The systemd service (`nginx.service`) it belongs to, outside containers.
    pub systemd_unit: Option<String>,
}

/// Parses the text of `/proc/PID/cgroup` (v1 or v2 lines, `ID:CONTROLLERS:PATH`).
pub fn parse(cgroup_file: &str) -> CgroupInfo {
    let paths = cgroup_file
        .lines()
        .filter_map(|line| line.splitn(3, ':').nth(2));
    let mut info = CgroupInfo::default();
    for path in paths {
        if info.container.is_none() {
            info.container = container_id(path);
        }
        if info.systemd_unit.is_none() {
            info.systemd_unit = systemd_service(path);
        }
    }
    if info.container.is_some() {
        // docker-<id>.scope is not a service; a container has no unit of its own.
        info.systemd_unit = None;
    }
    info
}

/// Reads and parses `/proc/PID/cgroup`; a vanished process has no info.
pub fn read(pid: u32) -> CgroupInfo {
    std::fs::read_to_string(format!("/proc/{pid}/cgroup"))
        .map(|text| parse(&text))
        .unwrap_or_default()
}

fn container_id(path: &str) -> Option<String> {
    path.split('/').rev().find_map(|component| {
        let id = component.strip_suffix(".scope").map_or(component, |scope| {
            SCOPE_PREFIXES
                .iter()
                .find_map(|prefix| scope.strip_prefix(prefix))
                .unwrap_or("")
        });
        is_container_id(id).then(|| id.to_owned())
    })
}

fn is_container_id(s: &str) -> bool {
    s.len() == CONTAINER_ID_LEN && s.bytes().all(|b| b.is_ascii_hexdigit())
}

fn systemd_service(path: &str) -> Option<String> {
    path.split('/')
        .rev()
        .find(|component| component.ends_with(".service"))
        .map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "3f1c5e0d2b9a4c7e8f6a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f6a";

    fn container(text: &str) -> Option<String> {
        parse(text).container
    }

    #[test]
    fn finds_container_ids_in_every_runtime_layout() {
        let layouts = [
            format!("0::/docker/{ID}\n"),
            format!("12:cpu,cpuacct:/docker/{ID}\n1:name=systemd:/docker/{ID}\n"),
            format!("0::/system.slice/docker-{ID}.scope\n"),
            format!("0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1234.slice/cri-containerd-{ID}.scope\n"),
            format!("0::/kubepods/besteffort/pod0f1e2d3c-aaaa-bbbb-cccc-000011112222/{ID}\n"),
            format!("0::/kubepods.slice/kubepods-pod12.slice/crio-{ID}.scope\n"),
            format!("0::/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-{ID}.scope/container\n"),
        ];
        for text in &layouts {
            assert_eq!(container(text).as_deref(), Some(ID), "{text}");
            assert_eq!(parse(text).systemd_unit, None, "{text}");
        }
    }

    #[test]
    fn podman_monitor_and_short_ids_are_not_containers() {
        assert_eq!(
            container(&format!("0::/machine.slice/libpod-conmon-{ID}.scope\n")),
            None
        );
        assert_eq!(container("0::/docker/3f1c5e0d2b9a\n"), None);
        assert_eq!(container(&format!("0::/docker/{}\n", "z".repeat(64))), None);
    }

    #[test]
    fn finds_systemd_services_outside_containers() {
        let info = parse("0::/system.slice/nginx.service\n");
        assert_eq!(info.systemd_unit.as_deref(), Some("nginx.service"));
        assert_eq!(info.container, None);
        let nested =
            parse("0::/user.slice/user-1000.slice/user@1000.service/app.slice/app-foo.scope\n");
        assert_eq!(nested.systemd_unit.as_deref(), Some("user@1000.service"));
        assert_eq!(parse("0::/\n"), CgroupInfo::default());
        assert_eq!(parse("garbage without colons"), CgroupInfo::default());
    }

    #[test]
    fn reads_this_process() {
        // Whatever this test runs under, reading our own cgroup must not fail
        // and must agree with parsing the file by hand.
        let text = std::fs::read_to_string("/proc/self/cgroup").unwrap();
        assert_eq!(read(std::process::id()), parse(&text));
        assert_eq!(read(u32::MAX), CgroupInfo::default());
    }
}
