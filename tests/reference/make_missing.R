#!/usr/bin/env Rscript
## Reference fixtures for riskset's missing-data policy and landmarks past follow-up.
##
## Usage (from the repository root):
##   Rscript tests/reference/make_missing.R
##
## Reads tests/reference/data/lung.csv (written by make_r.R: survival::lung with
## event = status - 1; NA is an empty field) and computes with R's survival package:
##
##   cox        coxph(Surv(time, event) ~ <covariates>, ties = "efron") with R's default
##              na.action (na.omit: the complete cases of the model's columns), for
##              several covariate sets with different missing values: n, nevent,
##              coefficients, se, loglik, and the number of rows R left out
##              (length(fit$na.action))
##   landmarks  summary(survfit(Surv(time, event) ~ <by>), times = 365.25 * c(1, 3, 5))
##              with extend = FALSE (R drops the times past each curve's last
##              observation) and extend = TRUE (n.risk 0, survival carried)
##   time0      survfit and coxph on lung with the first row's time set to 0 (R keeps
##              such rows): n, n.event, the survival at 365.25 days, the coefficient
##
## Output: tests/reference/fixtures/missing/lung_missing.json and
## tests/reference/fixtures/manifest_missing.json (versions, md5 of input and output).

suppressPackageStartupMessages({
  library(survival)
  library(jsonlite)
})
invisible(Sys.setlocale("LC_COLLATE", "C"))

script_path <- sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE))
REF_DIR <- normalizePath(dirname(script_path[1]))
DATA_DIR <- file.path(REF_DIR, "data")
FIX_DIR <- file.path(REF_DIR, "fixtures")
OUT_DIR <- file.path(FIX_DIR, "missing")
dir.create(OUT_DIR, showWarnings = FALSE, recursive = TRUE)
source(file.path(REF_DIR, "json_helpers.R"))

lung_csv <- file.path(DATA_DIR, "lung.csv")
lung <- read.csv(lung_csv, stringsAsFactors = FALSE)

## ---- Cox models with missing covariates (na.omit) -------------------------------------
MODELS <- list(
  c("age", "sex", "ph.ecog", "ph.karno", "wt.loss"),
  c("age", "sex", "ph.ecog"),
  c("ph.ecog"),
  c("age", "sex", "meal.cal")
)
cox_fx <- lapply(MODELS, function(covs) {
  f <- as.formula(paste("Surv(time, event) ~", paste(covs, collapse = " + ")))
  fit <- coxph(f, data = lung, ties = "efron")
  list(covariates = I(covs), formula = unbox(deparse1line(f)),
       n = jnum(fit$n), nevent = jnum(fit$nevent),
       n_excluded = jnum(length(fit$na.action)),
       excluded_rows = jarr(sort(as.integer(fit$na.action))),  # 1-based rows of lung.csv
       coef = jarr(unname(coef(fit))), se = jarr(unname(sqrt(diag(fit$var)))),
       loglik = jarr(fit$loglik))
})

## ---- landmarks past the last observation ---------------------------------------------
TIMES <- 365.25 * c(1, 3, 5)
lm_fx <- function(by) {
  f <- as.formula(paste("Surv(time, event) ~", if (is.null(by)) "1" else by))
  fit <- survfit(f, data = lung)
  one <- function(extend) {
    s <- summary(fit, times = TIMES, extend = extend)
    strata <- if (is.null(s$strata)) rep(NA_character_, length(s$time)) else as.character(s$strata)
    list(strata = I(strata), time = jarr(s$time), n_risk = jarr(s$n.risk),
         n_event = jarr(s$n.event), surv = jarr(s$surv), std_err = jarr(s$std.err),
         lower = jarr(s$lower), upper = jarr(s$upper))
  }
  list(by = if (is.null(by)) JNULL else unbox(by), times = jarr(TIMES),
       max_time = jnum(max(lung$time)),
       no_extend = one(FALSE), extend = one(TRUE))
}

## ---- rows with time 0 (kept by R) ---------------------------------------------------
lung0 <- lung
lung0$time[1] <- 0
km0 <- survfit(Surv(time, event) ~ 1, data = lung0)
s0 <- summary(km0, times = 365.25)
cx0 <- coxph(Surv(time, event) ~ age, data = lung0, ties = "efron")
time0 <- list(row = jnum(1), n = jnum(km0$n), n_event = jnum(sum(km0$n.event)),
              surv_365 = jnum(s0$surv), coef_age = jnum(unname(coef(cx0))), cox_n = jnum(cx0$n))

fx <- list(data = unbox("lung"), ties = unbox("efron"), cox = cox_fx,
           landmarks = list(lm_fx(NULL), lm_fx("sex")), time0 = time0)
out <- file.path(OUT_DIR, "lung_missing.json")
write_json_file(fx, out)

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
  files = rel_md5(out),
  inputs = rel_md5(lung_csv))
write_json_file(manifest, file.path(FIX_DIR, "manifest_missing.json"))
cat("wrote", out, "\n")
