//! Bound parameter values (text or binary, per the Bind message) → IR literals.

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime};
use pgwire::api::portal::Portal;
use pgwire::api::Type;
use rust_decimal::Decimal;

use super::prepared::Prepared;
use crate::error::{Error, Result};
use crate::ir::{DataType, Literal};

/// Decodes every parameter of `portal` by the statement's parameter types.
pub fn decode(portal: &Portal<Prepared>, types: &[Type]) -> Result<Vec<Literal>> {
    (0..portal.parameter_len())
        .map(|idx| decode_one(portal, idx, types.get(idx).unwrap_or(&Type::UNKNOWN)))
        .collect()
}

fn decode_one(portal: &Portal<Prepared>, idx: usize, ty: &Type) -> Result<Literal> {
    let bad = |e: pgwire::error::PgWireError| {
        Error::InvalidParameter(format!("parameter ${} ({}): {e}", idx + 1, ty.name()))
    };
    let typed = |value: String, ty: DataType| Literal::Typed { value, ty };
    let literal = match *ty {
        Type::BOOL => portal
            .parameter::<bool>(idx, ty)
            .map_err(bad)?
            .map(Literal::Bool),
        Type::INT2 => portal
            .parameter::<i16>(idx, ty)
            .map_err(bad)?
            .map(|v| Literal::Int(v.into())),
        Type::INT4 => portal
            .parameter::<i32>(idx, ty)
            .map_err(bad)?
            .map(|v| Literal::Int(v.into())),
        Type::INT8 => portal
            .parameter::<i64>(idx, ty)
            .map_err(bad)?
            .map(Literal::Int),
        Type::FLOAT4 => portal
            .parameter::<f32>(idx, ty)
            .map_err(bad)?
            .map(|v| Literal::Float(v.into())),
        Type::FLOAT8 => portal
            .parameter::<f64>(idx, ty)
            .map_err(bad)?
            .map(Literal::Float),
        Type::NUMERIC => portal
            .parameter::<Decimal>(idx, ty)
            .map_err(bad)?
            .map(|v| Literal::Numeric(v.to_string())),
        Type::DATE => portal
            .parameter::<NaiveDate>(idx, ty)
            .map_err(bad)?
            .map(|v| typed(v.format("%Y-%m-%d").to_string(), DataType::Date)),
        Type::TIMESTAMP => portal
            .parameter::<NaiveDateTime>(idx, ty)
            .map_err(bad)?
            .map(|v| {
                typed(
                    v.format("%Y-%m-%d %H:%M:%S%.f").to_string(),
                    DataType::Timestamp,
                )
            }),
        Type::TIMESTAMPTZ => portal
            .parameter::<DateTime<FixedOffset>>(idx, ty)
            .map_err(bad)?
            .map(|v| typed(v.to_rfc3339(), DataType::TimestampTz)),
        Type::UUID => raw(portal, idx)
            .map(|bytes| uuid_text(portal, idx, bytes))
            .transpose()?
            .map(Literal::String),
        // Untyped and text-like parameters arrive as text; the backend coerces them
        // exactly as it would a string literal in the same place.
        Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME | Type::UNKNOWN | Type::JSON => {
            raw(portal, idx)
                .map(|bytes| {
                    std::str::from_utf8(bytes)
                        .map(|s| Literal::String(s.to_owned()))
                        .map_err(|_| {
                            Error::InvalidParameter(format!("parameter ${} is not UTF-8", idx + 1))
                        })
                })
                .transpose()?
        }
        _ => {
            return Err(Error::unsupported(
                format!("parameter ${} of type {}", idx + 1, ty.name()),
                "switchyard",
            ))
        }
    };
    Ok(literal.unwrap_or(Literal::Null))
}

fn raw(portal: &Portal<Prepared>, idx: usize) -> Option<&[u8]> {
    portal.parameters.get(idx).and_then(|p| p.as_deref())
}

fn uuid_text(portal: &Portal<Prepared>, idx: usize, bytes: &[u8]) -> Result<String> {
    let parsed = if portal.parameter_format.is_binary(idx) {
        uuid::Uuid::from_slice(bytes).ok()
    } else {
        std::str::from_utf8(bytes)
            .ok()
            .and_then(|s| uuid::Uuid::parse_str(s.trim()).ok())
    };
    parsed
        .map(|u| u.hyphenated().to_string())
        .ok_or_else(|| Error::InvalidParameter(format!("parameter ${} is not a uuid", idx + 1)))
}
