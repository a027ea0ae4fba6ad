#!/usr/bin/env Rscript
## Reference fixtures for riskset.survsplit: R survSplit on lung (right-censored) and on the
## entry data (counting process), and coxph on the split rows.
## Usage (from the repository root, after make_r.R wrote data/lung.csv and data/entry.csv):
##   Rscript tests/reference/make_survsplit.R
## Writes fixtures/survsplit/*.json and fixtures/manifest_survsplit.json.
suppressPackageStartupMessages({
  library(survival)
  library(jsonlite)
})
invisible(Sys.setlocale("LC_COLLATE", "C"))
script_path <- sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE))
REF_DIR <- normalizePath(dirname(script_path[1]))
DATA_DIR <- file.path(REF_DIR, "data")
OUT_DIR <- file.path(REF_DIR, "fixtures", "survsplit")
dir.create(OUT_DIR, showWarnings = FALSE, recursive = TRUE)
source(file.path(REF_DIR, "json_helpers.R"))

split_case <- function(name, d, formula, cut, start_col) {
  d$row <- seq_len(nrow(d))  # 1-based input row, carried by every piece
  s <- survSplit(formula, data = d, cut = cut, episode = "ep")
  fit0 <- coxph(update(formula, . ~ age + sex), data = d, ties = "efron")
  fit1 <- coxph(as.formula(paste0("Surv(", start_col, ", time, event) ~ age + sex")), data = s, ties = "efron")
  obj <- list(case = name, call = deparse1line(match.call()), cut = jarr(cut),
              row = jarr(s$row), start = jarr(s[[start_col]]), time = jarr(s$time),
              event = jarr(s$event), episode = jarr(s$ep),
              coef_original = jarr(coef(fit0)), coef_split = jarr(coef(fit1)),
              loglik_split = jarr(fit1$loglik))
  write_json_file(obj, file.path(OUT_DIR, paste0(name, ".json")))
}

lung <- read.csv(file.path(DATA_DIR, "lung.csv"))
lung <- lung[, c("time", "event", "age", "sex")]
split_case("lung", lung, Surv(time, event) ~ ., c(180, 365, 730), "tstart")

entry <- read.csv(file.path(DATA_DIR, "entry.csv"))
entry$age <- seq_len(nrow(entry)) %% 7  # covariates for the Cox check (deterministic)
entry$sex <- 1 + seq_len(nrow(entry)) %% 2
entry <- entry[, c("entry", "time", "event", "age", "sex")]
split_case("entry", entry, Surv(entry, time, event) ~ ., c(1, 2.5, 4, 10), "entry")

files <- list.files(OUT_DIR, full.names = TRUE)
manifest <- list(r_version = R.version.string,
                 survival_version = as.character(packageVersion("survival")),
                 jsonlite_version = as.character(packageVersion("jsonlite")),
                 date = format(Sys.time(), "%Y-%m-%d"), hash = "md5",
                 inputs = as.list(tools::md5sum(file.path(DATA_DIR, c("lung.csv", "entry.csv")))),
                 files = as.list(tools::md5sum(files)))
names(manifest$inputs) <- c("data/lung.csv", "data/entry.csv")
names(manifest$files) <- file.path("fixtures", "survsplit", basename(files))
write_json_file(manifest, file.path(REF_DIR, "fixtures", "manifest_survsplit.json"))
