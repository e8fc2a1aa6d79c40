//! Templates on disk: one `<id>.json` per user template, usage counts in `usage.json`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::Utc;
use llf_core::fs::{PRIVATE, SHARED, atomic_write, update_locked};
use llf_core::trash::{ItemType, Trash, TrashItem};
use serde::{Deserialize, Serialize};

use crate::builtin::builtins;
use crate::template::{NewTemplate, PromptTemplate, TemplateEdit, TemplateFilter, Usage};
use crate::{Result, TemplateError};

const USAGE_FILE: &str = "usage.json";
/// `format` tag of an export file.
pub const EXPORT_FORMAT: &str = "llf-templates";
/// Version of the export file layout.
pub const EXPORT_VERSION: u32 = 1;

#[derive(Debug, Serialize, Deserialize)]
struct ExportFile {
    format: String,
    version: u32,
    templates: Vec<PromptTemplate>,
}

/// The templates of one directory plus the built-ins.
///
/// The files are small, so reads and writes are plain synchronous file operations, each write
/// atomic. Only [`TemplateStore::delete`] is async, because it moves the file to the trash.
#[derive(Debug, Clone)]
pub struct TemplateStore {
    dir: PathBuf,
}

impl TemplateStore {
    /// The store in `dir` (created on the first write).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Every template, built-ins first then user templates, each group sorted by id.
    pub fn list(&self, filter: &TemplateFilter) -> Result<Vec<PromptTemplate>> {
        let mut all = builtins();
        let mut user = self.user_templates()?;
        user.sort_by(|a, b| a.id.cmp(&b.id));
        all.extend(user);
        all.retain(|t| {
            filter
                .category
                .as_ref()
                .is_none_or(|c| t.category.eq_ignore_ascii_case(c))
                && filter
                    .tag
                    .as_ref()
                    .is_none_or(|tag| t.tags.iter().any(|x| x.eq_ignore_ascii_case(tag)))
        });
        Ok(all)
    }

    /// One template by id (or by name, case-insensitive).
    pub fn get(&self, id: &str) -> Result<PromptTemplate> {
        let wanted = id_from_name(id).unwrap_or_else(|_| id.to_owned());
        self.list(&TemplateFilter::default())?
            .into_iter()
            .find(|t| t.id == wanted || t.name.eq_ignore_ascii_case(id))
            .ok_or_else(|| TemplateError::NotFound(id.to_owned()))
    }

    /// Saves a new user template; its variables are read from the text.
    pub fn create(&self, new: NewTemplate) -> Result<PromptTemplate> {
        let id = id_from_name(&new.name)?;
        if self.get(&id).is_ok() {
            return Err(TemplateError::Exists(id));
        }
        let now = Utc::now();
        let t = PromptTemplate {
            id,
            name: new.name,
            description: new.description,
            variables: crate::render::variables(&new.template),
            template: new.template,
            category: if new.category.is_empty() {
                "general".to_owned()
            } else {
                new.category
            },
            tags: new.tags,
            author: new.author,
            version: "1.0".to_owned(),
            created_at: now,
            updated_at: now,
            builtin: false,
        };
        self.save(&t)?;
        tracing::info!(template = %t.id, "template created");
        Ok(t)
    }

    /// Changes a user template and bumps its minor version. The file is re-read under its lock,
    /// so two edits at once both apply (and both bump the version).
    pub fn edit(&self, id: &str, edit: TemplateEdit) -> Result<PromptTemplate> {
        let found = self.get(id)?;
        if found.builtin {
            return Err(TemplateError::BuiltIn(found.id, "edited"));
        }
        let path = self.file_of(&found.id);
        let mut edited = None;
        update_locked(&path, PRIVATE, |old| {
            let mut t: PromptTemplate = match old {
                Some(bytes) => {
                    serde_json::from_slice(bytes).map_err(|source| TemplateError::Parse {
                        path: path.clone(),
                        source,
                    })?
                }
                None => return Err(TemplateError::NotFound(id.to_owned())),
            };
            if let Some(text) = edit.template {
                t.variables = crate::render::variables(&text);
                t.template = text;
            }
            if let Some(d) = edit.description {
                t.description = d;
            }
            if let Some(c) = edit.category {
                t.category = c;
            }
            if let Some(tags) = edit.tags {
                t.tags = tags;
            }
            if let Some(n) = edit.name {
                t.name = n;
            }
            t.builtin = false;
            t.version = bump(&t.version);
            t.updated_at = Utc::now();
            let bytes = serde_json::to_vec_pretty(&t).map_err(|source| TemplateError::Parse {
                path: path.clone(),
                source,
            })?;
            edited = Some(t);
            Ok(bytes)
        })?;
        edited.ok_or_else(|| TemplateError::NotFound(id.to_owned()))
    }

    /// Moves a user template's file to the trash.
    pub async fn delete(&self, id: &str, trash: &Trash) -> Result<TrashItem> {
        let t = self.get(id)?;
        if t.builtin {
            return Err(TemplateError::BuiltIn(t.id, "deleted"));
        }
        let item = trash
            .delete(self.file_of(&t.id), ItemType::Template, Some(t.id.clone()))
            .await?;
        tracing::info!(template = %t.id, "template moved to the trash");
        Ok(item)
    }

    /// Renders a template and counts the use.
    pub fn render(&self, id: &str, values: &BTreeMap<String, String>) -> Result<String> {
        let t = self.get(id)?;
        let text = t.render(values)?;
        self.record_use(&t.id)?;
        Ok(text)
    }

    /// Usage of every template that was used, most used first.
    pub fn stats(&self) -> Result<Vec<Usage>> {
        let mut usage: Vec<Usage> = self.usage()?.into_values().collect();
        usage.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.id.cmp(&b.id)));
        Ok(usage)
    }

    /// Times `id` was rendered.
    pub fn usage_of(&self, id: &str) -> Result<u64> {
        Ok(self.usage()?.get(id).map_or(0, |u| u.count))
    }

    /// Writes the given templates (all user templates when `ids` is empty) to `path` as a
    /// versioned JSON file; returns how many.
    pub fn export(&self, ids: &[String], path: &Path) -> Result<usize> {
        let templates = if ids.is_empty() {
            self.list(&TemplateFilter::default())?
                .into_iter()
                .filter(|t| !t.builtin)
                .collect()
        } else {
            ids.iter()
                .map(|id| self.get(id))
                .collect::<Result<Vec<_>>>()?
        };
        let file = ExportFile {
            format: EXPORT_FORMAT.to_owned(),
            version: EXPORT_VERSION,
            templates,
        };
        let bytes = serde_json::to_vec_pretty(&file).map_err(|source| TemplateError::Parse {
            path: path.to_owned(),
            source,
        })?;
        atomic_write(path, &bytes, SHARED)?;
        Ok(file.templates.len())
    }

    /// Reads templates from an export file (or a single template's JSON) and saves them as user
    /// templates. Refuses, saving nothing, when one exists unless `overwrite`; built-ins are never
    /// replaced. Returns the ids imported.
    pub fn import(&self, path: &Path, overwrite: bool) -> Result<Vec<String>> {
        let bytes = std::fs::read(path).map_err(|e| TemplateError::io("reading", path, e))?;
        let parse_err = |source| TemplateError::Parse {
            path: path.to_owned(),
            source,
        };
        let value: serde_json::Value = serde_json::from_slice(&bytes).map_err(parse_err)?;
        let templates: Vec<PromptTemplate> = if value.get("templates").is_some() {
            serde_json::from_value::<ExportFile>(value)
                .map_err(parse_err)?
                .templates
        } else {
            vec![serde_json::from_value(value).map_err(parse_err)?]
        };
        for t in &templates {
            id_from_name(&t.id)?;
            match self.get(&t.id) {
                Ok(old) if old.builtin => return Err(TemplateError::BuiltIn(old.id, "replaced")),
                Ok(old) if !overwrite => return Err(TemplateError::Exists(old.id)),
                _ => {}
            }
        }
        let mut ids = Vec::new();
        for mut t in templates {
            t.builtin = false;
            t.variables = crate::render::variables(&t.template);
            self.save(&t)?;
            ids.push(t.id);
        }
        Ok(ids)
    }

    fn file_of(&self, id: &str) -> PathBuf {
        self.dir.join(format!("{id}.json"))
    }

    fn save(&self, t: &PromptTemplate) -> Result<()> {
        let bytes = serde_json::to_vec_pretty(t).map_err(|source| TemplateError::Parse {
            path: self.file_of(&t.id),
            source,
        })?;
        atomic_write(&self.file_of(&t.id), &bytes, PRIVATE)?;
        Ok(())
    }

    fn user_templates(&self) -> Result<Vec<PromptTemplate>> {
        let entries = match std::fs::read_dir(&self.dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(TemplateError::io("reading", &self.dir, e)),
        };
        let mut out = Vec::new();
        for entry in entries {
            let path = entry
                .map_err(|e| TemplateError::io("reading", &self.dir, e))?
                .path();
            let is_template = path.extension().is_some_and(|x| x == "json")
                && path.file_name().is_some_and(|n| n != USAGE_FILE);
            if !is_template {
                continue;
            }
            let bytes = std::fs::read(&path).map_err(|e| TemplateError::io("reading", &path, e))?;
            match serde_json::from_slice::<PromptTemplate>(&bytes) {
                Ok(mut t) => {
                    // A user file can never claim to be a built-in.
                    t.builtin = false;
                    if !crate::BUILTIN_IDS.contains(&t.id.as_str()) {
                        out.push(t);
                    }
                }
                // One bad file must not hide the others; say which one and go on.
                Err(e) => {
                    tracing::warn!(file = %path.display(), error = %e, "skipping an invalid template file")
                }
            }
        }
        Ok(out)
    }

    fn usage(&self) -> Result<BTreeMap<String, Usage>> {
        let path = self.dir.join(USAGE_FILE);
        match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map_err(|source| TemplateError::Parse { path, source }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(BTreeMap::new()),
            Err(e) => Err(TemplateError::io("reading", path, e)),
        }
    }

    fn record_use(&self, id: &str) -> Result<()> {
        let path = self.dir.join(USAGE_FILE);
        // Under the file's lock: two renders at once both count.
        update_locked(&path, PRIVATE, |old| {
            let mut usage: BTreeMap<String, Usage> = match old {
                Some(bytes) => {
                    serde_json::from_slice(bytes).map_err(|source| TemplateError::Parse {
                        path: path.clone(),
                        source,
                    })?
                }
                None => BTreeMap::new(),
            };
            let entry = usage.entry(id.to_owned()).or_insert_with(|| Usage {
                id: id.to_owned(),
                count: 0,
                last_used: None,
            });
            entry.count += 1;
            entry.last_used = Some(Utc::now());
            serde_json::to_vec_pretty(&usage).map_err(|source| TemplateError::Parse {
                path: path.clone(),
                source,
            })
        })
    }
}

/// `Code Review` → `code_review`; only letters, digits, `-` and `_` survive.
pub fn id_from_name(name: &str) -> Result<String> {
    let id: String = name
        .trim()
        .to_lowercase()
        .chars()
        .map(|c| if c == ' ' { '_' } else { c })
        .collect();
    let valid = !id.is_empty()
        && id.len() <= 64
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if valid {
        Ok(id)
    } else {
        Err(TemplateError::InvalidName(name.to_owned()))
    }
}

fn bump(version: &str) -> String {
    match version.split_once('.') {
        Some((major, minor)) => match minor.parse::<u32>() {
            Ok(m) => format!("{major}.{}", m + 1),
            Err(_) => format!("{version}.1"),
        },
        None => format!("{version}.1"),
    }
}
