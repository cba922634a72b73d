//! information_schema with Postgres spellings (`timestamp with time zone`, `double
//! precision`, `BASE TABLE`), built from the routed tables at each planning, so it is
//! never stale. DataFusion's own information_schema spells Arrow types; clients such as
//! Grafana's query builder show these strings to users.

use std::sync::Arc;

use arrow::array::{ArrayRef, Int32Array, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema, TimeUnit};
use async_trait::async_trait;
use datafusion::catalog::{MemTable, SchemaProvider};
use datafusion::datasource::TableProvider;
use datafusion::error::{DataFusionError, Result};
use pgwire::api::Type;

use super::routed::{RoutedTables, DATABASE, PUBLIC, SCHEMAS};

/// A column of an information_schema view: text or integer (`cardinal_number`).
#[derive(Clone, Copy)]
enum Kind {
    Text,
    Int,
}
use Kind::{Int, Text};

type Columns = &'static [(&'static str, Kind)];

const SCHEMATA: Columns = &[
    ("catalog_name", Text),
    ("schema_name", Text),
    ("schema_owner", Text),
    ("default_character_set_catalog", Text),
    ("default_character_set_schema", Text),
    ("default_character_set_name", Text),
    ("sql_path", Text),
];

const TABLES: Columns = &[
    ("table_catalog", Text),
    ("table_schema", Text),
    ("table_name", Text),
    ("table_type", Text),
    ("self_referencing_column_name", Text),
    ("reference_generation", Text),
    ("user_defined_type_catalog", Text),
    ("user_defined_type_schema", Text),
    ("user_defined_type_name", Text),
    ("is_insertable_into", Text),
    ("is_typed", Text),
    ("commit_action", Text),
];

const COLUMNS: Columns = &[
    ("table_catalog", Text),
    ("table_schema", Text),
    ("table_name", Text),
    ("column_name", Text),
    ("ordinal_position", Int),
    ("column_default", Text),
    ("is_nullable", Text),
    ("data_type", Text),
    ("character_maximum_length", Int),
    ("character_octet_length", Int),
    ("numeric_precision", Int),
    ("numeric_precision_radix", Int),
    ("numeric_scale", Int),
    ("datetime_precision", Int),
    ("interval_type", Text),
    ("interval_precision", Int),
    ("udt_catalog", Text),
    ("udt_schema", Text),
    ("udt_name", Text),
    ("dtd_identifier", Text),
    ("is_identity", Text),
    ("is_generated", Text),
    ("generation_expression", Text),
    ("is_updatable", Text),
];

const VIEWS: Columns = &[
    ("table_catalog", Text),
    ("table_schema", Text),
    ("table_name", Text),
    ("view_definition", Text),
    ("check_option", Text),
    ("is_updatable", Text),
    ("is_insertable_into", Text),
];

const ROUTINES: Columns = &[
    ("specific_catalog", Text),
    ("specific_schema", Text),
    ("specific_name", Text),
    ("routine_catalog", Text),
    ("routine_schema", Text),
    ("routine_name", Text),
    ("routine_type", Text),
    ("data_type", Text),
    ("external_language", Text),
];

const TABLE_CONSTRAINTS: Columns = &[
    ("constraint_catalog", Text),
    ("constraint_schema", Text),
    ("constraint_name", Text),
    ("table_catalog", Text),
    ("table_schema", Text),
    ("table_name", Text),
    ("constraint_type", Text),
    ("is_deferrable", Text),
    ("initially_deferred", Text),
    ("enforced", Text),
];

const KEY_COLUMN_USAGE: Columns = &[
    ("constraint_catalog", Text),
    ("constraint_schema", Text),
    ("constraint_name", Text),
    ("table_catalog", Text),
    ("table_schema", Text),
    ("table_name", Text),
    ("column_name", Text),
    ("ordinal_position", Int),
    ("position_in_unique_constraint", Int),
];

const REFERENTIAL_CONSTRAINTS: Columns = &[
    ("constraint_catalog", Text),
    ("constraint_schema", Text),
    ("constraint_name", Text),
    ("unique_constraint_catalog", Text),
    ("unique_constraint_schema", Text),
    ("unique_constraint_name", Text),
    ("match_option", Text),
    ("update_rule", Text),
    ("delete_rule", Text),
];

const SEQUENCES: Columns = &[
    ("sequence_catalog", Text),
    ("sequence_schema", Text),
    ("sequence_name", Text),
    ("data_type", Text),
];

const VIEWS_BY_NAME: &[(&str, Columns)] = &[
    ("schemata", SCHEMATA),
    ("tables", TABLES),
    ("columns", COLUMNS),
    ("views", VIEWS),
    ("routines", ROUTINES),
    ("table_constraints", TABLE_CONSTRAINTS),
    ("key_column_usage", KEY_COLUMN_USAGE),
    ("referential_constraints", REFERENTIAL_CONSTRAINTS),
    ("sequences", SEQUENCES),
];

#[derive(Debug)]
pub struct InformationSchema {
    tables: RoutedTables,
}

impl InformationSchema {
    pub fn new(tables: RoutedTables) -> Self {
        InformationSchema { tables }
    }

    fn rows(&self, view: &str) -> Vec<Vec<Option<String>>> {
        let text = |s: &str| Some(s.to_owned());
        match view {
            "schemata" => SCHEMAS
                .iter()
                .map(|schema| {
                    vec![
                        text(DATABASE),
                        text(schema),
                        text("switchyard"),
                        None,
                        None,
                        None,
                        None,
                    ]
                })
                .collect(),
            "tables" => self
                .tables
                .snapshot()
                .into_keys()
                .map(|name| {
                    vec![
                        text(DATABASE),
                        text(PUBLIC),
                        Some(name),
                        text("BASE TABLE"),
                        None,
                        None,
                        None,
                        None,
                        None,
                        text("NO"),
                        text("NO"),
                        None,
                    ]
                })
                .collect(),
            "columns" => self
                .tables
                .snapshot()
                .into_iter()
                .flat_map(|(table, schema)| {
                    schema
                        .fields()
                        .iter()
                        .enumerate()
                        .map(|(i, field)| column_row(&table, i + 1, field))
                        .collect::<Vec<_>>()
                })
                .collect(),
            _ => vec![],
        }
    }
}

fn column_row(table: &str, position: usize, field: &Field) -> Vec<Option<String>> {
    let text = |s: &str| Some(s.to_owned());
    let number = |n: Option<i64>| n.map(|n| n.to_string());
    let ty = pg_type(field.data_type());
    let (precision, radix, scale) = numeric_facts(field.data_type());
    vec![
        text(DATABASE),
        text(PUBLIC),
        text(table),
        text(field.name()),
        number(Some(position as i64)),
        None,
        text(if field.is_nullable() { "YES" } else { "NO" }),
        text(data_type_spelling(&ty)),
        None,
        number(matches!(ty, Type::TEXT).then_some(1_073_741_824)),
        number(precision),
        number(radix),
        number(scale),
        number(datetime_precision(field.data_type())),
        None,
        None,
        text(DATABASE),
        text("pg_catalog"),
        text(ty.name()),
        number(Some(position as i64)),
        text("NO"),
        text("NEVER"),
        None,
        text("NO"),
    ]
}

/// The Postgres type a client sees for an Arrow column (what the encoder sends).
pub fn pg_type(data_type: &DataType) -> Type {
    arrow_pg::datatypes::into_pg_type(data_type).unwrap_or(Type::TEXT)
}

/// information_schema.columns.data_type: the SQL-standard spelling Postgres uses.
pub fn data_type_spelling(ty: &Type) -> &'static str {
    match ty.name() {
        "bool" => "boolean",
        "int2" => "smallint",
        "int4" => "integer",
        "int8" => "bigint",
        "float4" => "real",
        "float8" => "double precision",
        "numeric" => "numeric",
        "text" => "text",
        "varchar" => "character varying",
        "bpchar" => "character",
        "bytea" => "bytea",
        "date" => "date",
        "time" => "time without time zone",
        "timetz" => "time with time zone",
        "timestamp" => "timestamp without time zone",
        "timestamptz" => "timestamp with time zone",
        "interval" => "interval",
        "json" => "json",
        "jsonb" => "jsonb",
        "uuid" => "uuid",
        name if name.starts_with('_') => "ARRAY",
        _ => "USER-DEFINED",
    }
}

fn numeric_facts(data_type: &DataType) -> (Option<i64>, Option<i64>, Option<i64>) {
    match data_type {
        DataType::Int8 | DataType::Int16 | DataType::UInt8 => (Some(16), Some(2), Some(0)),
        DataType::Int32 | DataType::UInt16 => (Some(32), Some(2), Some(0)),
        DataType::Int64 | DataType::UInt32 => (Some(64), Some(2), Some(0)),
        DataType::Float16 | DataType::Float32 => (Some(24), Some(2), None),
        DataType::Float64 => (Some(53), Some(2), None),
        DataType::Decimal128(p, s) | DataType::Decimal256(p, s) => {
            (Some(*p as i64), Some(10), Some(*s as i64))
        }
        _ => (None, None, None),
    }
}

fn datetime_precision(data_type: &DataType) -> Option<i64> {
    match data_type {
        DataType::Timestamp(unit, _) | DataType::Time64(unit) | DataType::Time32(unit) => {
            Some(match unit {
                TimeUnit::Second => 0,
                TimeUnit::Millisecond => 3,
                TimeUnit::Microsecond | TimeUnit::Nanosecond => 6,
            })
        }
        DataType::Date32 | DataType::Date64 => Some(0),
        _ => None,
    }
}

fn batch(columns: Columns, rows: Vec<Vec<Option<String>>>) -> Result<RecordBatch> {
    let schema = Arc::new(Schema::new(
        columns
            .iter()
            .map(|(name, kind)| {
                let ty = match kind {
                    Text => DataType::Utf8,
                    Int => DataType::Int32,
                };
                Field::new(*name, ty, true)
            })
            .collect::<Vec<_>>(),
    ));
    let arrays: Vec<ArrayRef> = columns
        .iter()
        .enumerate()
        .map(|(i, (_, kind))| -> ArrayRef {
            let cells = rows.iter().map(|row| row[i].as_deref());
            match kind {
                Text => Arc::new(cells.collect::<StringArray>()),
                Int => Arc::new(
                    cells
                        .map(|c| c.and_then(|v| v.parse::<i32>().ok()))
                        .collect::<Int32Array>(),
                ),
            }
        })
        .collect();
    RecordBatch::try_new(schema, arrays).map_err(DataFusionError::from)
}

#[async_trait]
impl SchemaProvider for InformationSchema {
    fn table_names(&self) -> Vec<String> {
        VIEWS_BY_NAME.iter().map(|(n, _)| n.to_string()).collect()
    }

    async fn table(&self, name: &str) -> Result<Option<Arc<dyn TableProvider>>> {
        let name = name.to_ascii_lowercase();
        let Some((_, columns)) = VIEWS_BY_NAME.iter().find(|(n, _)| *n == name) else {
            return Ok(None);
        };
        let batch = batch(columns, self.rows(&name))?;
        let table = MemTable::try_new(batch.schema(), vec![vec![batch]])?;
        Ok(Some(Arc::new(table)))
    }

    fn table_exist(&self, name: &str) -> bool {
        let name = name.to_ascii_lowercase();
        VIEWS_BY_NAME.iter().any(|(n, _)| *n == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::datatypes::TimeUnit;

    #[test]
    fn spells_types_as_postgres_does() {
        let cases = [
            (
                DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
                "timestamp with time zone",
            ),
            (
                DataType::Timestamp(TimeUnit::Microsecond, None),
                "timestamp without time zone",
            ),
            (DataType::Float64, "double precision"),
            (DataType::Int64, "bigint"),
            (DataType::Int32, "integer"),
            (DataType::Utf8, "text"),
            (DataType::Boolean, "boolean"),
            (DataType::Decimal128(18, 6), "numeric"),
        ];
        for (arrow, spelled) in cases {
            assert_eq!(data_type_spelling(&pg_type(&arrow)), spelled, "{arrow}");
        }
    }
}
