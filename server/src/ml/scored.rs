//! Scored views held in memory. The `installs` and `user_metrics` views
//! score every row they read with the promoted models; a long-running
//! server answering many questions would score the same rows again and
//! again. Here such a view is computed whole once and kept, until a model
//! is promoted (the promoted versions are the cache key, read per query, so
//! a promotion by another process takes effect on the next question).

use std::sync::Arc;

use async_trait::async_trait;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::catalog::Session;
use datafusion::datasource::{MemTable, TableProvider, TableType};
use datafusion::error::{DataFusionError, Result};
use datafusion::logical_expr::{Expr, LogicalPlan, TableProviderFilterPushDown};
use datafusion::physical_plan::ExecutionPlan;
use tokio::sync::Mutex;

use super::registry::Registry;

/// The promoted version of every model, in name order.
type Key = Vec<(String, Option<u32>)>;

#[derive(Debug)]
pub struct ScoredView {
    name: String,
    plan: LogicalPlan,
    schema: SchemaRef,
    /// The columns held: all but the per-row explanations (`*_reasons`),
    /// which cost more than the scores and are read by few questions.
    kept: Vec<usize>,
    live: Arc<dyn TableProvider>,
    registry: Registry,
    held: Mutex<Option<(Key, Arc<MemTable>)>>,
}

impl ScoredView {
    pub fn new(name: &str, plan: LogicalPlan, registry: Registry) -> Result<Self> {
        let schema = Arc::new(plan.schema().as_arrow().clone());
        let kept = (0..schema.fields().len())
            .filter(|&i| !schema.field(i).name().ends_with("_reasons"))
            .collect();
        let live: Arc<dyn TableProvider> =
            Arc::new(datafusion::datasource::ViewTable::new(plan.clone(), None));
        Ok(Self {
            name: name.to_string(),
            plan,
            schema,
            kept,
            live,
            registry,
            held: Mutex::new(None),
        })
    }

    fn key(&self) -> Result<Key> {
        let names = self
            .registry
            .names()
            .map_err(|e| DataFusionError::External(Box::new(e)))?;
        names
            .into_iter()
            .map(|n| {
                let v = self
                    .registry
                    .promoted(&n)
                    .map_err(|e| DataFusionError::External(Box::new(e)))?;
                Ok((n, v))
            })
            .collect()
    }

    /// The whole view for the current models, computed if need be.
    pub async fn table(&self, state: &dyn Session) -> Result<Arc<MemTable>> {
        let key = self.key()?;
        let mut held = self.held.lock().await;
        if let Some((k, t)) = held.as_ref()
            && *k == key
        {
            return Ok(Arc::clone(t));
        }
        let started = std::time::Instant::now();
        let exprs: Vec<Expr> = self
            .kept
            .iter()
            .map(|&i| {
                let (q, f) = self.plan.schema().qualified_field(i);
                Expr::Column(datafusion::common::Column::from((q, f)))
            })
            .collect();
        let plan = datafusion::logical_expr::LogicalPlanBuilder::from(self.plan.clone())
            .project(exprs)?
            .build()?;
        let plan = state.optimize(&plan)?;
        let physical = state.create_physical_plan(&plan).await?;
        let batches = datafusion::physical_plan::collect(physical, state.task_ctx()).await?;
        // Two partitions or more, so scans of the held rows use the cores.
        let parts = std::thread::available_parallelism().map_or(2, |n| n.get().max(2));
        let mut partitions: Vec<Vec<_>> = vec![Vec::new(); parts];
        for (i, b) in batches.into_iter().enumerate() {
            partitions[i % parts].push(b);
        }
        let held_schema = Arc::new(self.schema.project(&self.kept)?);
        let table = Arc::new(MemTable::try_new(held_schema, partitions)?);
        tracing::info!(
            view = %self.name,
            ms = started.elapsed().as_millis() as u64,
            "scored the whole view once for the promoted models"
        );
        *held = Some((key, Arc::clone(&table)));
        Ok(table)
    }
}

#[async_trait]
impl TableProvider for ScoredView {
    fn schema(&self) -> SchemaRef {
        Arc::clone(&self.schema)
    }

    fn table_type(&self) -> TableType {
        TableType::View
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        // Positions in the held table; an explanation column is read live.
        let all: Vec<usize> = (0..self.schema.fields().len()).collect();
        let wanted = projection.unwrap_or(&all);
        let held: Option<Vec<usize>> = wanted
            .iter()
            .map(|i| self.kept.iter().position(|k| k == i))
            .collect();
        match held {
            Some(positions) => {
                let table = self.table(state).await?;
                table.scan(state, Some(&positions), filters, limit).await
            }
            None => self.live.scan(state, projection, filters, limit).await,
        }
    }

    fn supports_filters_pushdown(
        &self,
        filters: &[&Expr],
    ) -> Result<Vec<TableProviderFilterPushDown>> {
        Ok(vec![
            TableProviderFilterPushDown::Unsupported;
            filters.len()
        ])
    }
}
