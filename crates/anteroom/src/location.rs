//! Where a practice's data is (`--data-dir`), and opening its store.

use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail};
use store::{PracticeId, Store, StoreError};
use store_sqlite::{OpenMode, SqliteStore};

use crate::cli::DataArgs;

pub async fn open(path: &Path, mode: OpenMode) -> anyhow::Result<SqliteStore> {
    match SqliteStore::open(path, mode).await {
        Ok(store) => Ok(store),
        Err(StoreError::NotFound) => Err(anyhow!(
            "there is no practice database at {} (check the path, or create one with `anteroom init --data-dir DIR`)",
            path.display()
        )),
        Err(error) => Err(anyhow!(
            "cannot open the database at {}: {error}",
            path.display()
        )),
    }
}

pub async fn practice_of(store: &dyn Store) -> anyhow::Result<PracticeId> {
    store
        .first_practice()
        .await?
        .ok_or_else(|| anyhow!("the database holds no practice; create one with `anteroom init`"))
}

impl DataArgs {
    pub fn database_path(&self) -> anyhow::Result<PathBuf> {
        match (&self.data_dir, &self.database_url) {
            (Some(dir), _) => Ok(dir.join("anteroom.db")),
            (None, Some(url)) => match url.strip_prefix("sqlite://") {
                Some(path) if !path.is_empty() => Ok(PathBuf::from(path)),
                _ if url.starts_with("postgres") => {
                    bail!("PostgreSQL is not supported yet; use a sqlite:// URL or --data-dir")
                }
                _ => bail!("--database-url must look like sqlite:///path/to/anteroom.db"),
            },
            (None, None) => {
                bail!("say where the practice's data is: --data-dir DIR (or ANTEROOM_DATA_DIR)")
            }
        }
    }
}
