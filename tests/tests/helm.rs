//! helm: registry login, package a generated chart, push to oci://, pull and show it.

use std::fs;

use tollgate_e2e::*;

fn write_chart(dir: &std::path::Path, name: &str, version: &str) {
    fs::create_dir_all(dir.join("templates")).unwrap();
    fs::write(
        dir.join("Chart.yaml"),
        format!(
            "apiVersion: v2\nname: {name}\ndescription: Tollgate end-to-end test chart\ntype: application\nversion: {version}\nappVersion: \"1.2.3\"\n"
        ),
    )
    .unwrap();
    fs::write(dir.join("values.yaml"), "replicaCount: 1\nmessage: hello\n").unwrap();
    fs::write(
        dir.join("templates/configmap.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-cm\ndata:\n  message: {{ .Values.message | quote }}\n",
    )
    .unwrap();
}

/// `helm registry login` as the registry's user; the password is read from stdin.
fn login_args(reg: &Registry) -> [&str; 7] {
    [
        "registry",
        "login",
        &reg.host,
        "--plain-http",
        "--username",
        &reg.user,
        "--password-stdin",
    ]
}

/// `helm pull` of `version` of the chart at `chart_ref` into `dir`.
fn pull_args<'a>(chart_ref: &'a str, version: &'a str, dir: &'a str) -> [&'a str; 7] {
    [
        "pull",
        chart_ref,
        "--version",
        version,
        "--plain-http",
        "-d",
        dir,
    ]
}

#[test]
fn helm_push_pull_show() {
    let reg = registry();
    let sb = Sandbox::new("helm");
    let ns = unique_repo("helm");
    let chart = format!("chart-{}", random_hex(6));
    let version = "0.1.0";

    // A wrong password is refused at login.
    let mut c = sb.command("helm", &login_args(reg));
    let run = run_command(&mut c, Some(b"not-the-password\n"), sb.timeout);
    assert!(
        !run.status.success(),
        "login with a wrong password must fail:\n{run:?}"
    );

    let password_line = format!("{}\n", reg.password);
    let run = sb.run_with_stdin("helm", &login_args(reg), password_line.as_bytes());
    assert!(
        format!("{}{}", run.stdout, run.stderr).contains("Login Succeeded"),
        "{run:?}"
    );

    let src = sb.path(&format!("src/{chart}"));
    write_chart(&src, &chart, version);
    let pkgdir = sb.path("pkg");
    sb.run(
        "helm",
        &[
            "package",
            &src.display().to_string(),
            "-d",
            &pkgdir.display().to_string(),
        ],
    );
    let tgz = pkgdir.join(format!("{chart}-{version}.tgz"));
    let tgz_bytes = fs::read(&tgz).unwrap();

    let run = sb.run(
        "helm",
        &[
            "push",
            &tgz.display().to_string(),
            &format!("oci://{}/{ns}", reg.host),
            "--plain-http",
        ],
    );
    let out = format!("{}{}", run.stdout, run.stderr);
    assert!(out.contains("Digest: sha256:"), "{run:?}");

    // The registry holds a Helm chart manifest whose chart layer is the packaged tgz.
    let repo = format!("{ns}/{chart}");
    let r = reg.get_manifest(&repo, version);
    r.expect(200);
    assert_eq!(r.must_header("Content-Type"), OCI_MANIFEST);
    let m = r.json();
    assert_eq!(
        m["config"]["mediaType"],
        "application/vnd.cncf.helm.config.v1+json"
    );
    let layer = m["layers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["mediaType"] == "application/vnd.cncf.helm.chart.content.v1.tar+gzip")
        .expect("chart content layer")
        .clone();
    assert_eq!(layer["digest"], sha256_digest(&tgz_bytes).as_str());
    assert!(
        out.contains(r.must_header("Docker-Content-Digest")),
        "helm printed another digest:\n{run:?}"
    );

    // Pull into a fresh directory: identical bytes.
    let chart_ref = format!("oci://{}/{repo}", reg.host);
    let pulled = sb.path("pulled");
    let pulled_dir = pulled.display().to_string();
    fs::create_dir_all(&pulled).unwrap();
    sb.run("helm", &pull_args(&chart_ref, version, &pulled_dir));
    assert_eq!(
        fs::read(pulled.join(format!("{chart}-{version}.tgz"))).unwrap(),
        tgz_bytes
    );

    let run = sb.run(
        "helm",
        &[
            "show",
            "chart",
            &chart_ref,
            "--version",
            version,
            "--plain-http",
        ],
    );
    assert!(run.stdout.contains(&format!("name: {chart}")), "{run:?}");
    assert!(
        run.stdout.contains(&format!("version: {version}")),
        "{run:?}"
    );
    assert!(run.stdout.contains("appVersion: 1.2.3"), "{run:?}");

    // A version that was never pushed is an error.
    let run = sb.try_run("helm", &pull_args(&chart_ref, "9.9.9", &pulled_dir));
    assert!(
        !run.status.success(),
        "pulling a missing version must fail:\n{run:?}"
    );

    sb.run("helm", &["registry", "logout", &reg.host]);
}
