//! Lenient leaf and container types for the typed models.
//!
//! Serde's derived structs fail on the first ill-typed field with a message that names no
//! path. These wrappers never fail on a JSON *type* mismatch: they record what they found
//! instead, so the extraction code, which knows each field's JSON path, can reject with a
//! precise [`InputError`]. Only malformed JSON (or a duplicate key) still fails inside serde.

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use serde::de::value::MapAccessDeserializer;
use serde::de::{Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use crate::{Day, InputError, Timestamp};

/// A JSON scalar leaf: a string (borrowed when it had no escapes), a boolean, or anything else.
#[derive(Debug)]
pub(crate) enum Leaf<'a> {
    Str(Cow<'a, str>),
    Bool(bool),
    /// Anything but a string or a boolean.
    Other,
}

/// A JSON object deserialised as `T`, or what was found instead.
#[derive(Debug)]
pub(crate) enum Obj<T> {
    Ok(T),
    Wrong(&'static str),
}

/// A JSON array of `T`, or something else.
#[derive(Debug)]
pub(crate) enum Arr<T> {
    Ok(Vec<T>),
    Wrong,
}

/// Consumes the rest of a sequence so the deserialiser stays in step.
fn drain_seq<'de, A: SeqAccess<'de>>(mut seq: A) -> Result<(), A::Error> {
    while seq.next_element::<IgnoredAny>()?.is_some() {}
    Ok(())
}

fn drain_map<'de, A: MapAccess<'de>>(mut map: A) -> Result<(), A::Error> {
    while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
    Ok(())
}

/// Implements the scalar visitor methods of a lenient wrapper as "found X".
macro_rules! found_scalars {
    ($wrong:expr) => {
        fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
            Ok($wrong("a boolean"))
        }
        fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
            Ok($wrong("a number"))
        }
        fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
            Ok($wrong("a number"))
        }
        fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
            Ok($wrong("a number"))
        }
        fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
            Ok($wrong("a string"))
        }
        fn visit_unit<E>(self) -> Result<Self::Value, E> {
            Ok($wrong("null"))
        }
    };
}

impl<'de: 'a, 'a> Deserialize<'de> for Leaf<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
            type Value = Leaf<'a>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Leaf<'a>, E> {
                Ok(Leaf::Str(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Leaf<'a>, E> {
                Ok(Leaf::Str(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E>(self, v: String) -> Result<Leaf<'a>, E> {
                Ok(Leaf::Str(Cow::Owned(v)))
            }
            fn visit_bool<E>(self, v: bool) -> Result<Leaf<'a>, E> {
                Ok(Leaf::Bool(v))
            }
            fn visit_i64<E>(self, _: i64) -> Result<Leaf<'a>, E> {
                Ok(Leaf::Other)
            }
            fn visit_u64<E>(self, _: u64) -> Result<Leaf<'a>, E> {
                Ok(Leaf::Other)
            }
            fn visit_f64<E>(self, _: f64) -> Result<Leaf<'a>, E> {
                Ok(Leaf::Other)
            }
            fn visit_unit<E>(self) -> Result<Leaf<'a>, E> {
                Ok(Leaf::Other)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Leaf<'a>, A::Error> {
                drain_seq(seq)?;
                Ok(Leaf::Other)
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Leaf<'a>, A::Error> {
                drain_map(map)?;
                Ok(Leaf::Other)
            }
        }
        d.deserialize_any(V(PhantomData))
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Obj<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
            type Value = Obj<T>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any JSON value")
            }
            found_scalars!(Obj::Wrong);
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Obj<T>, A::Error> {
                drain_seq(seq)?;
                Ok(Obj::Wrong("an array"))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Obj<T>, A::Error> {
                T::deserialize(MapAccessDeserializer::new(map)).map(Obj::Ok)
            }
        }
        d.deserialize_any(V(PhantomData))
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Arr<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
            type Value = Arr<T>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any JSON value")
            }
            found_scalars!(|_| Arr::Wrong);
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Arr<T>, A::Error> {
                // serde_json gives no size hint; SES arrays (headers, recipients) are short, and
                // one small allocation beats growing 1 → 2 → 4 → 8.
                let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(8));
                while let Some(item) = seq.next_element::<T>()? {
                    out.push(item);
                }
                Ok(Arr::Ok(out))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Arr<T>, A::Error> {
                drain_map(map)?;
                Ok(Arr::Wrong)
            }
        }
        d.deserialize_any(V(PhantomData))
    }
}

// Path-aware accessors. Paths are built only when an error is returned, so the happy path
// never formats a string.

/// A required string field.
pub(crate) fn req_str<'a>(v: Option<Leaf<'a>>, path: &str) -> Result<Cow<'a, str>, InputError> {
    match v {
        Some(Leaf::Str(s)) => Ok(s),
        None => Err(InputError::MissingField {
            path: path.to_owned(),
        }),
        Some(_) => Err(wrong(path, "a string")),
    }
}

/// An optional string field: absent or null is `None`, any other non-string is rejected.
pub(crate) fn opt_str<'a>(
    v: Option<Leaf<'a>>,
    path: &str,
) -> Result<Option<Cow<'a, str>>, InputError> {
    match v {
        Some(Leaf::Str(s)) => Ok(Some(s)),
        None => Ok(None),
        Some(_) => Err(wrong(path, "a string")),
    }
}

/// An optional boolean field.
pub(crate) fn opt_bool(v: Option<Leaf<'_>>, path: &str) -> Result<Option<bool>, InputError> {
    match v {
        Some(Leaf::Bool(b)) => Ok(Some(b)),
        None => Ok(None),
        Some(_) => Err(wrong(path, "a boolean")),
    }
}

/// A required timestamp field (a string `Timestamp::parse` accepts) on a day from
/// [`Day::FIRST`] to [`Day::LAST`].
pub(crate) fn req_ts(v: Option<Leaf<'_>>, path: &str) -> Result<Timestamp, InputError> {
    let s = req_str(v, path)?;
    match Timestamp::parse(&s) {
        Some(t) if (Day::FIRST..=Day::LAST).contains(&t.day()) => Ok(t),
        Some(_) => Err(InputError::TimestampOutOfRange {
            path: path.to_owned(),
            value: s.into_owned(),
        }),
        None => Err(InputError::BadTimestamp {
            path: path.to_owned(),
            value: s.into_owned(),
        }),
    }
}

/// A required object field.
pub(crate) fn req_obj<T>(v: Option<Obj<T>>, path: &str) -> Result<T, InputError> {
    match v {
        Some(Obj::Ok(t)) => Ok(t),
        None => Err(InputError::MissingField {
            path: path.to_owned(),
        }),
        Some(Obj::Wrong(_)) => Err(wrong(path, "an object")),
    }
}

/// An optional object field.
pub(crate) fn opt_obj<T>(v: Option<Obj<T>>, path: &str) -> Result<Option<T>, InputError> {
    match v {
        Some(Obj::Ok(t)) => Ok(Some(t)),
        None => Ok(None),
        Some(Obj::Wrong(_)) => Err(wrong(path, "an object")),
    }
}

/// An optional array field.
pub(crate) fn opt_arr<T>(
    v: Option<Arr<T>>,
    path: &str,
    expected: &'static str,
) -> Result<Option<Vec<T>>, InputError> {
    match v {
        Some(Arr::Ok(t)) => Ok(Some(t)),
        None => Ok(None),
        Some(Arr::Wrong) => Err(wrong(path, expected)),
    }
}

/// A required array field.
pub(crate) fn req_arr<T>(
    v: Option<Arr<T>>,
    path: &str,
    expected: &'static str,
) -> Result<Vec<T>, InputError> {
    opt_arr(v, path, expected)?.ok_or_else(|| InputError::MissingField {
        path: path.to_owned(),
    })
}

pub(crate) fn wrong(path: &str, expected: &'static str) -> InputError {
    InputError::WrongType {
        path: path.to_owned(),
        expected,
    }
}
