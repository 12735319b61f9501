//! One test per operator, positive and negative: docs/formats.md §1d and the event-ruler README.

use serde_json::{Value, json};

use super::Pattern;

fn matches(pattern: Value, event: Value) -> bool {
    Pattern::compile(&pattern)
        .unwrap_or_else(|e| panic!("pattern should compile: {e}"))
        .matches(&event)
}

fn invalid(pattern: Value) -> String {
    match Pattern::compile(&pattern) {
        Ok(p) => panic!("pattern should be rejected: {p:?}"),
        Err(e) => e.to_string(),
    }
}

/// The event-ruler README's sample event.
fn ec2() -> Value {
    json!({
        "version": "0",
        "id": "ddddd4-aaaa-7777-4444-345dd43cc333",
        "detail-type": "EC2 Instance State-change Notification",
        "source": "aws.ec2",
        "account": "012345679012",
        "time": "2017-10-02T16:24:49Z",
        "region": "us-east-1",
        "resources": ["arn:aws:ec2:us-east-1:123456789012:instance/i-000000aaaaaa00000"],
        "detail": {
            "c-count": 5,
            "d-count": 3,
            "x-limit": 301.8,
            "source-ip": "10.0.0.33",
            "instance-id": "i-000000aaaaaa00000",
            "state": "running"
        }
    })
}

#[test]
fn exact_strings_are_case_sensitive_and_fields_are_anded() {
    let p = json!({"source": ["aws.ec2"], "detail": {"state": ["initializing", "running"]}});
    assert!(matches(p.clone(), ec2()));
    assert!(!matches(json!({"source": ["AWS.EC2"]}), ec2()));
    assert!(!matches(
        json!({"source": ["aws.ec2"], "detail": {"state": ["stopped"]}}),
        ec2()
    ));
    // A named field that is missing fails the AND.
    assert!(!matches(
        json!({"source": ["aws.ec2"], "detail": {"nope": ["x"]}}),
        ec2()
    ));
}

#[test]
fn unnamed_fields_are_wildcards() {
    assert!(matches(json!({"detail": {"c-count": [5]}}), ec2()));
}

#[test]
fn numbers_match_by_representation() {
    assert!(matches(json!({"detail": {"c-count": [5]}}), ec2()));
    assert!(!matches(json!({"detail": {"c-count": [5.0]}}), ec2()));
    assert!(matches(json!({"detail": {"x-limit": [301.8]}}), ec2()));
    // A numeric string is not a number.
    assert!(!matches(json!({"detail": {"c-count": ["5"]}}), ec2()));
    assert!(!matches(json!({"n": [300]}), json!({"n": 300.0})));
}

#[test]
fn booleans_and_null_match_literals_and_null_is_not_empty_string() {
    let e = json!({"a": true, "b": null, "c": ""});
    assert!(matches(json!({"a": [true]}), e.clone()));
    assert!(!matches(json!({"a": [false]}), e.clone()));
    assert!(!matches(json!({"a": ["true"]}), e.clone()));
    assert!(matches(json!({"b": [null]}), e.clone()));
    assert!(!matches(json!({"b": [""]}), e.clone()));
    assert!(matches(json!({"c": [""]}), e.clone()));
    assert!(!matches(json!({"c": [null]}), e.clone()));
    // A missing field is not null.
    assert!(!matches(json!({"d": [null]}), e));
}

#[test]
fn event_arrays_intersect_with_the_pattern() {
    assert!(matches(
        json!({"resources": ["arn:aws:ec2:us-east-1:123456789012:instance/i-000000aaaaaa00000", "other"]}),
        ec2()
    ));
    assert!(matches(
        json!({"tags": ["b", "z"]}),
        json!({"tags": ["a", "b", "c"]})
    ));
    assert!(!matches(
        json!({"tags": ["x", "y"]}),
        json!({"tags": ["a", "b", "c"]})
    ));
    assert!(!matches(json!({"tags": ["a"]}), json!({"tags": []})));
}

#[test]
fn arrays_of_objects_are_flattened_without_mixing_elements() {
    let e = json!({"employees": [
        {"firstName": "John", "lastName": "Doe"},
        {"firstName": "Anna", "lastName": "Smith"},
        {"firstName": "Peter", "lastName": "Jones"}
    ]});
    assert!(matches(
        json!({"employees": {"firstName": ["Anna"]}}),
        e.clone()
    ));
    assert!(matches(
        json!({"employees": {"firstName": ["Anna"], "lastName": ["Smith"]}}),
        e.clone()
    ));
    assert!(!matches(
        json!({"employees": {"firstName": ["Anna"], "lastName": ["Jones"]}}),
        e.clone()
    ));
    assert!(!matches(json!({"employees": {"firstName": ["Zoe"]}}), e));
    let nested = json!({"employees": [[{"firstName": "John"}, {"firstName": "Anna"}], [{"firstName": "Peter"}]]});
    assert!(matches(
        json!({"employees": {"firstName": ["Peter"]}}),
        nested
    ));
}

#[test]
fn prefix() {
    assert!(matches(json!({"time": [{"prefix": "2017-10-02"}]}), ec2()));
    assert!(!matches(json!({"time": [{"prefix": "2017-10-03"}]}), ec2()));
    assert!(!matches(json!({"source": [{"prefix": "AWS."}]}), ec2()));
    // Strings only.
    assert!(!matches(json!({"n": [{"prefix": "1"}]}), json!({"n": 12})));
}

#[test]
fn prefix_equals_ignore_case() {
    assert!(matches(
        json!({"source": [{"prefix": {"equals-ignore-case": "AWS."}}]}),
        ec2()
    ));
    assert!(!matches(
        json!({"source": [{"prefix": {"equals-ignore-case": "AWS.S3"}}]}),
        ec2()
    ));
}

#[test]
fn suffix() {
    assert!(matches(json!({"source": [{"suffix": "ec2"}]}), ec2()));
    assert!(!matches(json!({"source": [{"suffix": "EC2"}]}), ec2()));
    assert!(!matches(json!({"source": [{"suffix": "s3"}]}), ec2()));
}

#[test]
fn suffix_equals_ignore_case() {
    assert!(matches(
        json!({"f": [{"suffix": {"equals-ignore-case": ".png"}}]}),
        json!({"f": "IMG.PNG"})
    ));
    assert!(!matches(
        json!({"f": [{"suffix": {"equals-ignore-case": ".png"}}]}),
        json!({"f": "IMG.JPG"})
    ));
}

#[test]
fn equals_ignore_case() {
    assert!(matches(
        json!({"source": [{"equals-ignore-case": "AWS.EC2"}]}),
        ec2()
    ));
    assert!(!matches(
        json!({"source": [{"equals-ignore-case": "aws.ec"}]}),
        ec2()
    ));
    assert!(!matches(
        json!({"n": [{"equals-ignore-case": "5"}]}),
        json!({"n": 5})
    ));
}

#[test]
fn wildcard() {
    let p = json!({"source": [{"wildcard": "Simple*Service"}]});
    assert!(matches(p.clone(), json!({"source": "SimpleQueueService"})));
    assert!(matches(p.clone(), json!({"source": "SimpleService"})));
    assert!(!matches(
        p.clone(),
        json!({"source": "SimpleQueueServices"})
    ));
    assert!(!matches(p, json!({"source": "simpleService"})));
    assert!(matches(
        json!({"k": [{"wildcard": "dir/*.png"}]}),
        json!({"k": "dir/a/b.png"})
    ));
    assert!(matches(
        json!({"k": [{"wildcard": "*a*b*"}]}),
        json!({"k": "xaybz"})
    ));
    assert!(!matches(
        json!({"k": [{"wildcard": "*a*b*"}]}),
        json!({"k": "xbya"})
    ));
    assert!(!matches(
        json!({"k": [{"wildcard": "a*a"}]}),
        json!({"k": "a"})
    ));
}

#[test]
fn wildcard_escapes() {
    assert!(matches(
        json!({"k": [{"wildcard": "a\\*b"}]}),
        json!({"k": "a*b"})
    ));
    assert!(!matches(
        json!({"k": [{"wildcard": "a\\*b"}]}),
        json!({"k": "axb"})
    ));
    assert!(matches(
        json!({"k": [{"wildcard": "a\\\\*"}]}),
        json!({"k": "a\\xyz"})
    ));
    assert!(!matches(
        json!({"k": [{"wildcard": "a\\\\*"}]}),
        json!({"k": "axyz"})
    ));
}

#[test]
fn wildcard_rejects_consecutive_stars_and_bad_escapes() {
    assert_eq!(
        invalid(json!({"k": [{"wildcard": "a**b"}]})),
        "invalid event pattern at k[0]: consecutive wildcard characters in \"a**b\""
    );
    assert!(invalid(json!({"k": [{"wildcard": "a\\nb"}]})).contains("invalid escape"));
    assert!(invalid(json!({"k": [{"wildcard": "a\\"}]})).contains("invalid escape"));
    // An escaped star followed by a star is fine.
    assert!(Pattern::compile(&json!({"k": [{"wildcard": "a\\**"}]})).is_ok());
}

#[test]
fn anything_but_value() {
    assert!(matches(
        json!({"detail": {"state": [{"anything-but": "initializing"}]}}),
        ec2()
    ));
    assert!(!matches(
        json!({"detail": {"state": [{"anything-but": "running"}]}}),
        ec2()
    ));
    assert!(matches(
        json!({"detail": {"x-limit": [{"anything-but": 123}]}}),
        ec2()
    ));
    assert!(!matches(
        json!({"detail": {"x-limit": [{"anything-but": 301.8}]}}),
        ec2()
    ));
    // The field must be present.
    assert!(!matches(
        json!({"detail": {"missing": [{"anything-but": "x"}]}}),
        ec2()
    ));
    // A present null is "anything but" a string.
    assert!(matches(
        json!({"v": [{"anything-but": "x"}]}),
        json!({"v": null})
    ));
}

#[test]
fn anything_but_list() {
    let p = json!({"detail": {"state": [{"anything-but": ["stopped", "overloaded"]}]}});
    assert!(matches(p, ec2()));
    assert!(!matches(
        json!({"detail": {"state": [{"anything-but": ["stopped", "running"]}]}}),
        ec2()
    ));
    assert!(matches(
        json!({"detail": {"x-limit": [{"anything-but": [100, 200, 300]}]}}),
        ec2()
    ));
    assert!(!matches(
        json!({"detail": {"c-count": [{"anything-but": [4, 5]}]}}),
        ec2()
    ));
    assert_eq!(
        invalid(json!({"v": [{"anything-but": ["a", 1]}]})),
        "invalid event pattern at v[0]: an anything-but list must be all strings or all numbers"
    );
}

#[test]
fn anything_but_prefix_and_suffix() {
    assert!(matches(
        json!({"detail": {"state": [{"anything-but": {"prefix": "init"}}]}}),
        ec2()
    ));
    assert!(!matches(
        json!({"detail": {"state": [{"anything-but": {"prefix": "run"}}]}}),
        ec2()
    ));
    assert!(matches(
        json!({"f": [{"anything-but": {"suffix": ".png"}}]}),
        json!({"f": "a.jpg"})
    ));
    assert!(!matches(
        json!({"f": [{"anything-but": {"suffix": ".png"}}]}),
        json!({"f": "a.png"})
    ));
}

#[test]
fn anything_but_equals_ignore_case() {
    let p = json!({"s": [{"anything-but": {"equals-ignore-case": ["X", "y"]}}]});
    assert!(matches(p.clone(), json!({"s": "z"})));
    assert!(!matches(p.clone(), json!({"s": "x"})));
    assert!(!matches(p, json!({"s": "Y"})));
}

#[test]
fn anything_but_wildcard() {
    let p = json!({"path": [{"anything-but": {"wildcard": "*/lib/*"}}]});
    assert!(matches(p.clone(), json!({"path": "/usr/bin/x"})));
    assert!(!matches(p, json!({"path": "/usr/lib/x"})));
}

#[test]
fn numeric_ranges() {
    let p = json!({"detail": {
        "c-count": [{"numeric": [">", 0, "<=", 5]}],
        "d-count": [{"numeric": ["<", 10]}],
        "x-limit": [{"numeric": ["=", 3.018e2]}]
    }});
    assert!(matches(p, ec2()));
    assert!(!matches(
        json!({"detail": {"c-count": [{"numeric": [">", 5]}]}}),
        ec2()
    ));
    assert!(matches(
        json!({"detail": {"c-count": [{"numeric": [">=", 5]}]}}),
        ec2()
    ));
    assert!(!matches(
        json!({"detail": {"c-count": [{"numeric": ["<", 5]}]}}),
        ec2()
    ));
    assert!(matches(
        json!({"detail": {"c-count": [{"numeric": ["<=", 5]}]}}),
        ec2()
    ));
    assert!(matches(
        json!({"detail": {"c-count": [{"numeric": ["=", 5.0]}]}}),
        ec2()
    ));
    // Only JSON numbers, never numeric strings.
    assert!(!matches(
        json!({"n": [{"numeric": [">", 0]}]}),
        json!({"n": "5"})
    ));
}

#[test]
fn numeric_rejects_bad_ranges() {
    assert_eq!(
        invalid(json!({"n": [{"numeric": [">", 0, ">=", 1]}]})),
        "invalid event pattern at n[0]: numeric has more than one lower bound"
    );
    assert_eq!(
        invalid(json!({"n": [{"numeric": ["<", 0, "<=", 1]}]})),
        "invalid event pattern at n[0]: numeric has more than one upper bound"
    );
    assert!(invalid(json!({"n": [{"numeric": ["=", 1, "<", 2]}]})).contains("cannot be combined"));
    assert!(
        invalid(json!({"n": [{"numeric": ["!=", 1]}]})).contains("unrecognised numeric operator")
    );
    assert!(invalid(json!({"n": [{"numeric": [">", "1"]}]})).contains("needs a number"));
    assert!(invalid(json!({"n": [{"numeric": [">", 1, "<"]}]})).contains("numeric takes"));
    assert!(
        invalid(json!({"n": [{"numeric": [">", 6.0e9]}]})).contains("outside the numeric range")
    );
    assert!(
        invalid(json!({"n": [{"numeric": [">", 5, "<", 1]}]})).contains("lower bound is above")
    );
}

#[test]
fn exists_true_and_false_on_leaves_only() {
    assert!(matches(
        json!({"detail": {"c-count": [{"exists": true}]}}),
        ec2()
    ));
    assert!(!matches(
        json!({"detail": {"e-count": [{"exists": true}]}}),
        ec2()
    ));
    assert!(matches(
        json!({"detail": {"e-count": [{"exists": false}]}}),
        ec2()
    ));
    assert!(!matches(
        json!({"detail": {"c-count": [{"exists": false}]}}),
        ec2()
    ));
    // An object is not a leaf: exists false still matches, exists true does not.
    let e = json!({"detail": {"c-count": {"c1": 100}}});
    assert!(matches(
        json!({"detail": {"c-count": [{"exists": false}]}}),
        e.clone()
    ));
    assert!(!matches(
        json!({"detail": {"c-count": [{"exists": true}]}}),
        e
    ));
    // A null value is present.
    assert!(matches(
        json!({"v": [{"exists": true}]}),
        json!({"v": null})
    ));
    // Missing intermediate objects: the leaf does not exist.
    assert!(matches(
        json!({"detail": {"c-count": [{"exists": false}]}}),
        json!({"source": "x"})
    ));
    assert!(invalid(json!({"v": [{"exists": "yes"}]})).contains("exists takes true or false"));
}

#[test]
fn cidr() {
    assert!(matches(
        json!({"detail": {"source-ip": [{"cidr": "10.0.0.0/24"}]}}),
        ec2()
    ));
    assert!(!matches(
        json!({"detail": {"source-ip": [{"cidr": "10.0.1.0/24"}]}}),
        ec2()
    ));
    assert!(matches(
        json!({"ip": [{"cidr": "2001:db8::/32"}]}),
        json!({"ip": "2001:db8:1::5"})
    ));
    assert!(!matches(
        json!({"ip": [{"cidr": "2001:db8::/32"}]}),
        json!({"ip": "2001:db9::5"})
    ));
    assert!(!matches(
        json!({"ip": [{"cidr": "10.0.0.0/8"}]}),
        json!({"ip": "not an ip"})
    ));
    assert!(matches(
        json!({"ip": [{"cidr": "0.0.0.0/0"}]}),
        json!({"ip": "203.0.113.9"})
    ));
    assert!(invalid(json!({"ip": [{"cidr": "10.0.0.0/33"}]})).contains("prefix length"));
    assert!(invalid(json!({"ip": [{"cidr": "10.0.0.0"}]})).contains("not a CIDR block"));
}

#[test]
fn or_across_fields_and_nested() {
    let p = json!({
        "source": ["aws.cloudwatch"],
        "$or": [
            {"metricName": ["CPUUtilization", "ReadLatency"]},
            {"namespace": ["AWS/EC2", "AWS/ES"]}
        ]
    });
    assert!(matches(
        p.clone(),
        json!({"source": "aws.cloudwatch", "namespace": "AWS/EC2"})
    ));
    assert!(matches(
        p.clone(),
        json!({"source": "aws.cloudwatch", "metricName": "ReadLatency"})
    ));
    assert!(!matches(
        p.clone(),
        json!({"source": "aws.cloudwatch", "namespace": "AWS/S3"})
    ));
    assert!(!matches(
        p,
        json!({"source": "aws.s3", "namespace": "AWS/EC2"})
    ));

    let nested = json!({
        "source": ["aws.cloudwatch"],
        "$or": [
            {"metricName": ["CPUUtilization"]},
            {"metricType": ["MetricType"], "$or": [{"metricId": [1234]}, {"spaceId": [1000]}]}
        ]
    });
    assert!(matches(
        nested.clone(),
        json!({"source": "aws.cloudwatch", "metricType": "MetricType", "spaceId": 1000})
    ));
    assert!(!matches(
        nested,
        json!({"source": "aws.cloudwatch", "metricType": "MetricType", "spaceId": 999})
    ));
}

#[test]
fn or_with_fewer_than_two_objects_or_operator_names_is_a_plain_field() {
    // One object: `$or` is an ordinary field whose leaf holds an unknown operator.
    assert!(invalid(json!({"$or": [{"a": ["x"]}]})).contains("unrecognised operator"));
    // Operator keywords as field names: `$or` is an ordinary field with operator alternatives.
    let p = json!({"$or": [{"numeric": [">", 1]}, {"prefix": "abc"}]});
    assert!(matches(p.clone(), json!({"$or": "abcdef"})));
    assert!(!matches(p, json!({"a": "abcdef"})));
    // An object value: `$or` is an ordinary nested field.
    assert!(matches(
        json!({"$or": {"k": ["v"]}}),
        json!({"$or": {"k": "v"}})
    ));
}

#[test]
fn mixed_exact_values_and_operators_are_ored() {
    let p = json!({"s": ["a", {"prefix": "b"}]});
    assert!(matches(p.clone(), json!({"s": "a"})));
    assert!(matches(p.clone(), json!({"s": "bcd"})));
    assert!(!matches(p, json!({"s": "cab"})));
}

#[test]
fn structural_errors_are_rejected_with_a_path() {
    assert_eq!(
        invalid(json!(["a"])),
        "invalid event pattern at top level: a pattern must be a JSON object"
    );
    assert_eq!(
        invalid(json!({"detail": {"state": "running"}})),
        "invalid event pattern at detail.state: must be an array of values or an object"
    );
    assert_eq!(
        invalid(json!({"s": []})),
        "invalid event pattern at s: an empty array matches nothing"
    );
    assert_eq!(
        invalid(json!({"s": [{"contains": "x"}]})),
        "invalid event pattern at s[0]: unrecognised operator \"contains\""
    );
    assert_eq!(
        invalid(json!({"s": [{"prefix": "a", "suffix": "b"}]})),
        "invalid event pattern at s[0]: an operator object must have exactly one key"
    );
    assert!(invalid(json!({"s": [["a"]]})).contains("nested arrays"));
    assert!(invalid(json!({})).contains("empty object"));
    assert!(invalid(json!({"v": [{"anything-but": null}]})).contains("not true, false or null"));
    assert!(
        Pattern::parse("{not json")
            .unwrap_err()
            .reason
            .starts_with("not JSON")
    );
}
