//! The builds stay lean (docs/design.md §2.2): the default `mailshot` (embedded runtime and
//! MCP) compiles no AWS SDK crate, and the Lambda binaries compile no LMDB, mimalloc, clap or
//! rmcp. Read from `cargo tree` over the committed Cargo.lock.

use std::collections::BTreeSet;
use std::process::Command;

/// The names of the crates in the normal (non-dev, non-build) dependency tree of `package`
/// with `features`.
fn crates(package: &str, features: &[&str]) -> BTreeSet<String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
    let mut cmd = Command::new(cargo);
    cmd.args([
        "tree", "--locked", "--prefix", "none", "-e", "normal", "-p", package,
    ]);
    if !features.is_empty() {
        cmd.args(["--features", &features.join(",")]);
    }
    let out = cmd
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run cargo tree");
    assert!(
        out.status.success(),
        "cargo tree -p {package}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .map(str::to_string)
        .collect()
}

fn aws_sdk(crates: &BTreeSet<String>) -> Vec<&String> {
    crates
        .iter()
        .filter(|c| c.starts_with("aws-sdk-") || c.starts_with("aws-smithy-") || *c == "aws-config")
        .collect()
}

#[test]
fn the_default_cli_build_has_no_aws_sdk_and_the_aws_feature_adds_it() {
    let default = crates("mailshot-cli", &[]);
    assert!(default.contains("heed"), "the embedded runtime is in");
    assert!(default.contains("rmcp"), "the MCP server is in");
    assert_eq!(aws_sdk(&default), Vec::<&String>::new());
    let with_aws = crates("mailshot-cli", &["aws"]);
    for sdk in [
        "aws-config",
        "aws-sdk-dynamodb",
        "aws-sdk-kinesis",
        "aws-sdk-sesv2",
    ] {
        assert!(with_aws.contains(sdk), "--features aws brings {sdk}");
    }
}

#[test]
fn the_lambda_binaries_have_no_lmdb_mimalloc_clap_or_rmcp() {
    let lambda = crates("mailshot-lambda", &[]);
    assert!(lambda.contains("lambda_runtime"));
    assert!(lambda.contains("aws-sdk-dynamodb"));
    for unwanted in [
        "heed",
        "lmdb-master-sys",
        "mimalloc",
        "libmimalloc-sys",
        "clap",
        "rmcp",
    ] {
        assert!(
            !lambda.contains(unwanted),
            "{unwanted} is in the Lambda's tree"
        );
    }
}
