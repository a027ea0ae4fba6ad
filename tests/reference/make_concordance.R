#!/usr/bin/env Rscript
## Reference fixtures for riskset: concordance() and predict.coxph(newdata).
##
## Usage (from the repository root):
##   Rscript tests/reference/make_concordance.R
##
## 1. Writes tests/reference/data/conc_lung.csv (lung complete cases with helper
##    columns and a Cox linear predictor `lp`) and conc_lung_new.csv (newdata rows
##    for predict), then READS THEM BACK and computes everything from the CSVs.
## 2. One JSON per concordance case in tests/reference/fixtures/concordance/:
##    settings, concordance, var, std, cvar, count (concordant, discordant, tied.x,
##    tied.y, tied.xy; after R's reverse swap) and count_strata (per stratum when
##    R keeps them, 2..10 strata).
## 3. predict_lung.json, predict_lung_strata.json: predict(fit, newdata, type,
##    se.fit = TRUE) for lp, risk, expected, survival (reference = "strata", R's default).
## 4. tests/reference/fixtures/manifest_concordance.json (versions, date, md5s).

suppressPackageStartupMessages({
  library(survival)
  library(jsonlite)
})
invisible(Sys.setlocale("LC_COLLATE", "C"))

script_path <- sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE))
REF_DIR <- normalizePath(dirname(script_path[1]))
DATA_DIR <- file.path(REF_DIR, "data")
FIX_DIR <- file.path(REF_DIR, "fixtures")
OUT_DIR <- file.path(FIX_DIR, "concordance")
dir.create(OUT_DIR, showWarnings = FALSE, recursive = TRUE)
source(file.path(REF_DIR, "json_helpers.R"))

## ---------------------------------------------------------------------------
## Data: lung complete cases (time, status, age, sex, ph.ecog, ph.karno, inst).
## Integer times and predictors give many ties in time and in the predictor.
## site: a/b/c by row; w: integer weights 1..3; wf: fractional weights;
## entry: an entry time < time; ecog: ph.ecog as text (a factor in the Cox fit);
## lp: linear predictor of coxph(Surv(time, event) ~ age + sex + ecog).
## ---------------------------------------------------------------------------
conc_lung <- local({
  d <- survival::lung
  d <- d[stats::complete.cases(d[, c("time", "status", "age", "sex", "ph.ecog",
                                    "ph.karno", "inst")]), ]
  n <- nrow(d)
  k <- seq_len(n)
  out <- data.frame(time = d$time, event = as.integer(d$status - 1), age = d$age,
                    sex = d$sex, ph.karno = d$ph.karno,
                    ecog = as.character(d$ph.ecog), inst = as.integer(d$inst),
                    site = c("a", "b", "c")[(k %% 3) + 1],
                    w = (k %% 3) + 1, wf = 0.5 + ((k * 7) %% 11) / 4,
                    entry = floor(d$time * ((k %% 4) / 5)),
                    stringsAsFactors = FALSE)
  fit <- coxph(Surv(time, event) ~ age + sex + ecog, data = out)
  out$lp <- unname(fit$linear.predictors)
  out
})
data_written <- write_data_csv(conc_lung, "conc_lung")
conc_new <- data.frame(time = c(100, 250, 5, 400, 1022, 60),
                       event = c(1L, 0L, 1L, 1L, 0L, 0L),
                       age = c(50, 62, 74, 45, 70, 58), sex = c(1, 2, 1, 2, 1, 2),
                       ecog = c("0", "1", "2", "3", "1", "0"),
                       site = c("a", "b", "c", "a", "b", "c"),
                       stringsAsFactors = FALSE)
data_written <- c(data_written, write_data_csv(conc_new, "conc_lung_new"))

lung <- read.csv(file.path(DATA_DIR, "conc_lung.csv"), stringsAsFactors = FALSE,
                 colClasses = c(ecog = "character"))
newd <- read.csv(file.path(DATA_DIR, "conc_lung_new.csv"), stringsAsFactors = FALSE,
                 colClasses = c(ecog = "character"))

written <- character(0)

conc_case <- function(case, predictor, strata = NULL, weights = NULL, timewt = "n",
                      reverse = FALSE, entry = NULL) {
  d <- lung
  lhs <- if (is.null(entry)) "Surv(time, event)" else sprintf("Surv(%s, time, event)", entry)
  rhs <- paste0("`", predictor, "`")
  if (!is.null(strata)) rhs <- paste0(rhs, " + strata(", strata, ")")
  f <- as.formula(paste(lhs, "~", rhs))
  cf <- if (is.null(weights)) {
    concordance(f, data = d, timewt = timewt, reverse = reverse)
  } else {
    d$.w <- d[[weights]]
    concordance(f, data = d, weights = .w, timewt = timewt, reverse = reverse)
  }
  cnt <- cf$count
  cs <- JNULL
  if (is.matrix(cnt)) {
    ## 3.5-3 leaves the rows unnamed: they are the strata in as.factor() level order
    cs <- list(strata = levels(as.factor(d[[strata]])), count = jmat(cnt))
    cnt <- colSums(cnt)
  }
  fx <- list(case = case, data = "conc_lung",
             settings = list(predictor = predictor, strata = jstr_or_null(strata),
                             weights = jstr_or_null(weights), timewt = timewt,
                             reverse = reverse, entry = jstr_or_null(entry)),
             n = cf$n, concordance = jnum(cf$concordance), var = jnum(cf$var),
             std = jnum(sqrt(cf$var)), cvar = jnum(cf$cvar),
             count = jarr(cnt[c("concordant", "discordant", "tied.x", "tied.y", "tied.xy")]),
             count_strata = cs)
  path <- file.path(OUT_DIR, paste0(case, ".json"))
  write_json_file(fx, path)
  written <<- c(written, path)
  cat(sprintf("%-24s C = %.10f se = %.6g\n", case, cf$concordance, sqrt(cf$var)))
}

for (tw in c("n", "S", "S/G", "n/G2", "I")) {
  tag <- gsub("/", "_", tw)
  conc_case(paste0("age_", tag), "age", timewt = tw)
  conc_case(paste0("karno_", tag), "ph.karno", timewt = tw)
  conc_case(paste0("lp_rev_", tag), "lp", timewt = tw, reverse = TRUE)
  conc_case(paste0("karno_wf_", tag), "ph.karno", weights = "wf", timewt = tw)
  conc_case(paste0("age_site_", tag), "age", strata = "site", timewt = tw)
}
conc_case("age_rev", "age", reverse = TRUE)
conc_case("karno_w", "ph.karno", weights = "w")
conc_case("karno_sex_w_rev", "ph.karno", strata = "sex", weights = "w", reverse = TRUE)
conc_case("age_site_wf_S", "age", strata = "site", weights = "wf", timewt = "S/G")
conc_case("age_inst", "age", strata = "inst")          # > 10 strata: R merges them
conc_case("karno_inst_wf", "ph.karno", strata = "inst", weights = "wf")
conc_case("age_entry", "age", entry = "entry")
conc_case("karno_entry_wf_site", "ph.karno", entry = "entry", weights = "wf", strata = "site")

## ---------------------------------------------------------------------------
## predict.coxph on newdata
## ---------------------------------------------------------------------------
predict_case <- function(case, formula) {
  fit <- coxph(as.formula(formula), data = lung)
  pr <- list()
  for (ty in c("lp", "risk", "expected", "survival")) {
    p <- predict(fit, newdata = newd, type = ty, se.fit = TRUE)
    pr[[ty]] <- list(fit = jarr(p$fit), se_fit = jarr(p$se.fit))
  }
  fx <- list(case = case, data = "conc_lung", newdata = "conc_lung_new",
             formula = formula, ties = "efron",
             coef = jarr(coef(fit)), means = jarr(fit$means), predict = pr)
  path <- file.path(OUT_DIR, paste0(case, ".json"))
  write_json_file(fx, path)
  written <<- c(written, path)
}
predict_case("predict_lung", "Surv(time, event) ~ age + sex + ecog")
predict_case("predict_lung_strata", "Surv(time, event) ~ age + sex + ecog + strata(site)")

## ---------------------------------------------------------------------------
## Manifest
## ---------------------------------------------------------------------------
rel_md5 <- function(files) {
  setNames(as.list(unname(tools::md5sum(files))), substring(files, nchar(REF_DIR) + 2))
}
manifest <- list(
  r_version = R.version.string,
  survival_version = as.character(packageVersion("survival")),
  jsonlite_version = as.character(packageVersion("jsonlite")),
  date = format(Sys.Date(), "%Y-%m-%d"),
  collate = "C",
  hash = "md5",
  files = rel_md5(c(data_written, sort(written))))
write_json_file(manifest, file.path(FIX_DIR, "manifest_concordance.json"))
cat(sprintf("wrote %d fixtures and %d data files\n", length(written), length(data_written)))
