//! pg_catalog as one statement sees it: the shared tables, except `pg_settings`, which
//! holds the connection's own settings (what SHOW and current_setting read), and
//! `pg_roles`, which holds the connection's user (what psql's `\du` lists).

use std::sync::Arc;

use arrow::array::{ArrayRef, BooleanArray, Int32Array, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema};
use async_trait::async_trait;
use datafusion::catalog::{MemTable, SchemaProvider};
use datafusion::datasource::TableProvider;
use datafusion::error::Result;
use datafusion::scalar::ScalarValue;

use super::functions::SessionView;

#[derive(Debug)]
pub struct SessionPgCatalog {
    pub shared: Arc<dyn SchemaProvider>,
    pub view: SessionView,
}

impl SessionPgCatalog {
    fn pg_settings(&self) -> Result<Arc<dyn TableProvider>> {
        let text = |name: &str| Field::new(name, DataType::Utf8, true);
        let schema = Arc::new(Schema::new(vec![
            text("name"),
            text("setting"),
            text("unit"),
            text("category"),
            text("short_desc"),
            text("extra_desc"),
            text("context"),
            text("vartype"),
            text("source"),
            text("min_val"),
            text("max_val"),
            text("enumvals"),
            text("boot_val"),
            text("reset_val"),
            text("sourcefile"),
            Field::new("sourceline", DataType::Int32, true),
            Field::new("pending_restart", DataType::Boolean, true),
        ]));
        let rows = self.view.settings.len();
        let names: Vec<&str> = self.view.settings.keys().map(String::as_str).collect();
        let values: Vec<&str> = self.view.settings.values().map(String::as_str).collect();
        let constant =
            |value: Option<&str>| -> ArrayRef { Arc::new(StringArray::from(vec![value; rows])) };
        let columns: Vec<ArrayRef> = vec![
            Arc::new(StringArray::from(names)),
            Arc::new(StringArray::from(values.clone())),
            constant(None),
            constant(Some("Client Connection Defaults")),
            constant(None),
            constant(None),
            constant(Some("user")),
            constant(Some("string")),
            constant(Some("session")),
            constant(None),
            constant(None),
            constant(None),
            constant(None),
            Arc::new(StringArray::from(values)),
            constant(None),
            Arc::new(Int32Array::from(vec![None; rows])),
            Arc::new(BooleanArray::from(vec![false; rows])),
        ];
        let batch = RecordBatch::try_new(schema.clone(), columns)?;
        Ok(Arc::new(MemTable::try_new(schema, vec![vec![batch]])?))
    }
}

impl SessionPgCatalog {
    /// One role: the session user, as the bootstrap superuser (OID 10, which the
    /// catalog's owner columns name). Columns keep the shared table's schema.
    async fn pg_roles(&self) -> Result<Option<Arc<dyn TableProvider>>> {
        let Some(shared) = self.shared.table("pg_roles").await? else {
            return Ok(None);
        };
        let schema = shared.schema();
        let columns = schema
            .fields()
            .iter()
            .map(|field| {
                let value = match field.name().as_str() {
                    "oid" => ScalarValue::Int32(Some(10)),
                    "rolname" => ScalarValue::Utf8(Some(self.view.user.clone())),
                    "rolsuper" | "rolinherit" | "rolcreaterole" | "rolcreatedb" | "rolcanlogin" => {
                        ScalarValue::Boolean(Some(true))
                    }
                    "rolreplication" | "rolbypassrls" => ScalarValue::Boolean(Some(false)),
                    "rolconnlimit" => ScalarValue::Int32(Some(-1)),
                    "rolpassword" => ScalarValue::Utf8(Some("********".into())),
                    _ => ScalarValue::try_from(field.data_type())?,
                };
                let column = value.to_array_of_size(1)?;
                Ok(arrow::compute::cast(&column, field.data_type())?)
            })
            .collect::<Result<Vec<ArrayRef>>>()?;
        let batch = RecordBatch::try_new(schema.clone(), columns)?;
        Ok(Some(Arc::new(MemTable::try_new(
            schema,
            vec![vec![batch]],
        )?)))
    }
}

#[async_trait]
impl SchemaProvider for SessionPgCatalog {
    fn table_names(&self) -> Vec<String> {
        self.shared.table_names()
    }

    async fn table(&self, name: &str) -> Result<Option<Arc<dyn TableProvider>>> {
        if name.eq_ignore_ascii_case("pg_settings") {
            return self.pg_settings().map(Some);
        }
        if name.eq_ignore_ascii_case("pg_roles") {
            return self.pg_roles().await;
        }
        self.shared.table(name).await
    }

    fn table_exist(&self, name: &str) -> bool {
        self.shared.table_exist(name)
    }
}
