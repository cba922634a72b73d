//! Catalog functions datafusion-pg-catalog leaves to the server: `version()`,
//! `current_setting(name [, missing_ok])` and the session's user, answered from the
//! connection's settings (a snapshot taken when the statement runs).

use std::collections::BTreeMap;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, StringBuilder};
use arrow::datatypes::DataType;
use datafusion::error::{DataFusionError, Result};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, TypeSignature,
    Volatility,
};
use datafusion::scalar::ScalarValue;

/// What a catalog statement may read of its connection.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct SessionView {
    /// Lower-cased setting name → value, as SHOW prints it.
    pub settings: BTreeMap<String, String>,
    pub user: String,
}

/// `version()`: Postgres 15 first (clients parse it), then who we are.
pub fn version_string() -> String {
    format!(
        "PostgreSQL {} on {}-pc-linux-gnu, compiled by rustc, 64-bit",
        crate::frontend::session::server_version(),
        std::env::consts::ARCH
    )
}

fn constant(name: &str, value: String) -> ScalarUDF {
    datafusion::logical_expr::create_udf(
        name,
        vec![],
        DataType::Utf8,
        Volatility::Stable,
        Arc::new(move |_: &[ColumnarValue]| {
            Ok(ColumnarValue::Scalar(ScalarValue::Utf8(Some(
                value.clone(),
            ))))
        }),
    )
}

pub fn version() -> ScalarUDF {
    constant("version", version_string())
}

/// `current_user`, `session_user` (and `user`, which the pg-catalog parser rewrites).
pub fn users(view: &SessionView) -> Vec<ScalarUDF> {
    ["current_user", "session_user", "user"]
        .iter()
        .map(|name| constant(name, view.user.clone()))
        .collect()
}

pub fn current_setting(view: &SessionView) -> ScalarUDF {
    ScalarUDF::new_from_impl(CurrentSetting {
        settings: view.settings.clone(),
        signature: Signature::one_of(
            vec![
                TypeSignature::Exact(vec![DataType::Utf8]),
                TypeSignature::Exact(vec![DataType::Utf8, DataType::Boolean]),
            ],
            Volatility::Stable,
        ),
    })
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct CurrentSetting {
    settings: BTreeMap<String, String>,
    signature: Signature,
}

impl ScalarUDFImpl for CurrentSetting {
    fn name(&self) -> &str {
        "current_setting"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _args: &[DataType]) -> Result<DataType> {
        Ok(DataType::Utf8)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let arrays = ColumnarValue::values_to_arrays(&args.args)?;
        let names = arrow::compute::cast(&arrays[0], &DataType::Utf8)?;
        let names = names.as_string::<i32>();
        let missing_ok = arrays.get(1).map(|a| a.as_boolean().clone());
        let mut out = StringBuilder::new();
        for row in 0..names.len() {
            if names.is_null(row) {
                out.append_null();
                continue;
            }
            let name = names.value(row);
            match self.settings.get(&name.to_ascii_lowercase()) {
                Some(value) => out.append_value(value),
                None if missing_ok
                    .as_ref()
                    .is_some_and(|m| !m.is_null(row) && m.value(row)) =>
                {
                    out.append_null()
                }
                None => {
                    return Err(DataFusionError::Execution(format!(
                        "unrecognized configuration parameter \"{name}\""
                    )))
                }
            }
        }
        Ok(ColumnarValue::Array(Arc::new(out.finish()) as ArrayRef))
    }
}

/// `to_regtype(name)`: the OID of a type named as Postgres accepts it (`timestamptz`,
/// `timestamp with time zone`, `pg_catalog.int4`, `text[]`), NULL when unknown.
pub fn to_regtype(types: BTreeMap<String, i32>) -> ScalarUDF {
    ScalarUDF::new_from_impl(ToRegtype {
        types,
        signature: Signature::exact(vec![DataType::Utf8], Volatility::Stable),
    })
}

/// SQL-standard spellings → pg_type.typname.
const TYPE_ALIASES: &[(&str, &str)] = &[
    ("smallint", "int2"),
    ("integer", "int4"),
    ("int", "int4"),
    ("bigint", "int8"),
    ("real", "float4"),
    ("double precision", "float8"),
    ("float", "float8"),
    ("boolean", "bool"),
    ("character varying", "varchar"),
    ("character", "bpchar"),
    ("char", "bpchar"),
    ("decimal", "numeric"),
    ("timestamp without time zone", "timestamp"),
    ("timestamp with time zone", "timestamptz"),
    ("time without time zone", "time"),
    ("time with time zone", "timetz"),
];

#[derive(Debug, PartialEq, Eq, Hash)]
struct ToRegtype {
    types: BTreeMap<String, i32>,
    signature: Signature,
}

impl ToRegtype {
    fn lookup(&self, name: &str) -> Option<i32> {
        let name = name.trim().to_ascii_lowercase();
        let name = name.strip_prefix("pg_catalog.").unwrap_or(&name);
        let (base, array) = match name.strip_suffix("[]") {
            Some(base) => (base.trim(), true),
            None => (name, false),
        };
        let base = TYPE_ALIASES
            .iter()
            .find(|(alias, _)| *alias == base)
            .map_or(base, |(_, typname)| typname);
        let typname = if array {
            format!("_{base}")
        } else {
            base.to_owned()
        };
        self.types.get(&typname).copied()
    }
}

impl ScalarUDFImpl for ToRegtype {
    fn name(&self) -> &str {
        "to_regtype"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _args: &[DataType]) -> Result<DataType> {
        Ok(DataType::Int32)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let arrays = ColumnarValue::values_to_arrays(&args.args)?;
        let names = arrow::compute::cast(&arrays[0], &DataType::Utf8)?;
        let oids: arrow::array::Int32Array = names
            .as_string::<i32>()
            .iter()
            .map(|name| name.and_then(|n| self.lookup(n)))
            .collect();
        Ok(ColumnarValue::Array(Arc::new(oids) as ArrayRef))
    }
}

/// `quote_ident(text)` as Postgres decides: quoted (inner quotes doubled) unless it is
/// lower-case ASCII letters, digits and underscores not starting with a digit, and not
/// one of the keywords Postgres reserves in any way.
pub fn quote_ident() -> ScalarUDF {
    ScalarUDF::new_from_impl(QuoteIdent {
        signature: Signature::string(1, Volatility::Immutable),
    })
}

/// PostgreSQL 15's keywords of every category but unreserved
/// (`SELECT word FROM pg_get_keywords() WHERE catcode <> 'U'`): as identifiers they
/// need quotes.
const RESERVED_KEYWORDS: &[&str] = &[
    "all",
    "analyse",
    "analyze",
    "and",
    "any",
    "array",
    "as",
    "asc",
    "asymmetric",
    "authorization",
    "between",
    "bigint",
    "binary",
    "bit",
    "boolean",
    "both",
    "case",
    "cast",
    "char",
    "character",
    "check",
    "coalesce",
    "collate",
    "collation",
    "column",
    "concurrently",
    "constraint",
    "create",
    "cross",
    "current_catalog",
    "current_date",
    "current_role",
    "current_schema",
    "current_time",
    "current_timestamp",
    "current_user",
    "dec",
    "decimal",
    "default",
    "deferrable",
    "desc",
    "distinct",
    "do",
    "else",
    "end",
    "except",
    "exists",
    "extract",
    "false",
    "fetch",
    "float",
    "for",
    "foreign",
    "freeze",
    "from",
    "full",
    "grant",
    "greatest",
    "group",
    "grouping",
    "having",
    "ilike",
    "in",
    "initially",
    "inner",
    "inout",
    "int",
    "integer",
    "intersect",
    "interval",
    "into",
    "is",
    "isnull",
    "join",
    "lateral",
    "leading",
    "least",
    "left",
    "like",
    "limit",
    "localtime",
    "localtimestamp",
    "national",
    "natural",
    "nchar",
    "none",
    "normalize",
    "not",
    "notnull",
    "null",
    "nullif",
    "numeric",
    "offset",
    "on",
    "only",
    "or",
    "order",
    "out",
    "outer",
    "overlaps",
    "overlay",
    "placing",
    "position",
    "precision",
    "primary",
    "real",
    "references",
    "returning",
    "right",
    "row",
    "select",
    "session_user",
    "setof",
    "similar",
    "smallint",
    "some",
    "substring",
    "symmetric",
    "table",
    "tablesample",
    "then",
    "time",
    "timestamp",
    "to",
    "trailing",
    "treat",
    "trim",
    "true",
    "union",
    "unique",
    "user",
    "using",
    "values",
    "varchar",
    "variadic",
    "verbose",
    "when",
    "where",
    "window",
    "with",
    "xmlattributes",
    "xmlconcat",
    "xmlelement",
    "xmlexists",
    "xmlforest",
    "xmlnamespaces",
    "xmlparse",
    "xmlpi",
    "xmlroot",
    "xmlserialize",
    "xmltable",
];

fn quoted_identifier(name: &str) -> String {
    let plain = name
        .bytes()
        .next()
        .is_some_and(|b| b.is_ascii_lowercase() || b == b'_')
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        && RESERVED_KEYWORDS.binary_search(&name).is_err();
    if plain {
        name.to_owned()
    } else {
        format!("\"{}\"", name.replace('"', "\"\""))
    }
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct QuoteIdent {
    signature: Signature,
}

impl ScalarUDFImpl for QuoteIdent {
    fn name(&self) -> &str {
        "quote_ident"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _args: &[DataType]) -> Result<DataType> {
        Ok(DataType::Utf8)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let arrays = ColumnarValue::values_to_arrays(&args.args)?;
        let names = arrow::compute::cast(&arrays[0], &DataType::Utf8)?;
        let names = names.as_string::<i32>();
        let quoted: arrow::array::StringArray =
            names.iter().map(|n| n.map(quoted_identifier)).collect();
        Ok(ColumnarValue::Array(Arc::new(quoted) as ArrayRef))
    }
}

#[cfg(test)]
mod quote_ident_tests {
    use super::*;

    /// Expected texts are what PostgreSQL 15 returns for the same names.
    #[test]
    fn quotes_as_postgres_does() {
        assert!(RESERVED_KEYWORDS.windows(2).all(|w| w[0] < w[1]), "sorted");
        assert_eq!(RESERVED_KEYWORDS.len(), 151);
        for (name, quoted) in [
            ("Ab", "\"Ab\""),
            ("a\"b", "\"a\"\"b\""),
            ("user", "\"user\""),
            ("_x1", "_x1"),
            ("1x", "\"1x\""),
            ("abc", "abc"),
            ("name", "name"),
            ("é", "\"é\""),
            ("", "\"\""),
        ] {
            assert_eq!(quoted_identifier(name), quoted, "{name}");
        }
    }
}

/// `pg_size_pretty(bigint)`, Postgres 15's rule: bytes below 10 kB, then the largest of
/// kB, MB, GB, TB and PB that keeps the number below 20480 (half-rounded, PB unbounded).
pub fn pg_size_pretty() -> ScalarUDF {
    datafusion::logical_expr::create_udf(
        "pg_size_pretty",
        vec![DataType::Int64],
        DataType::Utf8,
        Volatility::Immutable,
        Arc::new(|args: &[ColumnarValue]| {
            let arrays = ColumnarValue::values_to_arrays(args)?;
            let sizes = arrays[0].as_primitive::<arrow::datatypes::Int64Type>();
            let text: arrow::array::StringArray =
                sizes.iter().map(|s| s.map(size_pretty)).collect();
            Ok(ColumnarValue::Array(Arc::new(text) as ArrayRef))
        }),
    )
}

fn size_pretty(size: i64) -> String {
    // (unit, limit below which it is used, half-rounded, bits from bytes)
    const UNITS: [(&str, i64, bool, u32); 6] = [
        ("bytes", 10 * 1024, false, 0),
        ("kB", 20 * 1024 - 1, true, 10),
        ("MB", 20 * 1024 - 1, true, 20),
        ("GB", 20 * 1024 - 1, true, 30),
        ("TB", 20 * 1024 - 1, true, 40),
        ("PB", 20 * 1024 - 1, true, 50),
    ];
    let mut size = size;
    for (i, (name, limit, round, bits)) in UNITS.iter().enumerate() {
        let last = i + 1 == UNITS.len();
        if last || size.unsigned_abs() < *limit as u64 {
            if *round {
                size = (size + if size < 0 { -1 } else { 1 }) / 2;
            }
            return format!("{size} {name}");
        }
        let (_, _, next_round, next_bits) = UNITS[i + 1];
        let shift = next_bits - bits - u32::from(next_round) + u32::from(*round);
        size /= 1i64 << shift;
    }
    unreachable!("the last unit always answers")
}

/// Relation sizes (`pg_table_size`, `pg_relation_size`, …): unknown for routed tables,
/// whose bytes live in another engine, so NULL rather than a made-up 0.
pub fn unknown_sizes() -> Vec<ScalarUDF> {
    [
        "pg_table_size",
        "pg_relation_size",
        "pg_total_relation_size",
        "pg_indexes_size",
    ]
    .iter()
    .map(|name| {
        datafusion::logical_expr::create_udf(
            name,
            vec![DataType::Int64],
            DataType::Int64,
            Volatility::Stable,
            Arc::new(|args: &[ColumnarValue]| {
                let rows = match &args[0] {
                    ColumnarValue::Array(array) => array.len(),
                    ColumnarValue::Scalar(_) => 1,
                };
                Ok(ColumnarValue::Array(arrow::array::new_null_array(
                    &DataType::Int64,
                    rows,
                )))
            }),
        )
    })
    .collect()
}

#[cfg(test)]
mod size_tests {
    use super::*;

    /// Expected texts are what PostgreSQL 15 returns for the same sizes.
    #[test]
    fn sizes_print_like_postgres() {
        for (size, text) in [
            (0, "0 bytes"),
            (1, "1 bytes"),
            (10239, "10239 bytes"),
            (10240, "10 kB"),
            (10751, "10 kB"),
            (10752, "11 kB"),
            (20479, "20 kB"),
            (20480, "20 kB"),
            (1048575, "1024 kB"),
            (20971519, "20 MB"),
            (20971520, "20 MB"),
            (21474836479, "20 GB"),
            (21474836480, "20 GB"),
            (1099511627776, "1024 GB"),
            (22517998136852480, "20 PB"),
            (i64::MAX, "8192 PB"),
            (-1, "-1 bytes"),
            (-10240, "-10 kB"),
            (-10752, "-11 kB"),
            (-20971520, "-20 MB"),
        ] {
            assert_eq!(size_pretty(size), text, "{size}");
        }
    }
}
