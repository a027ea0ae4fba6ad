#!/usr/bin/env Rscript
## Reference fixtures for riskset: how R's coxph centres the covariates, and what
## depends on it; predicted survival that underflows to 0.
##
## Usage (from the repository root):
##   Rscript tests/reference/make_cox_center.R
##
## coxph(nocenter = c(-1, 0, 1)) (the default) does not centre a column of the
## model matrix whose values all lie in {-1, 0, 1}: its fit$means entry is 0. The
## other columns are centred at their case-weighted mean (coxph.fit) or, with
## Surv(start, stop, event), at their unweighted mean (agreg.fit, colMeans).
## The means enter the linear predictors, predict(type = "lp"),
## basehaz(centered = TRUE) and the default survfit(fit) curve.
##
## 1. Writes the data sets of these cases as CSV into tests/reference/data/
##    (center_aml.csv, center_lung.csv).
## 2. Reads them back from the CSV (so R and Python see exactly the same values)
##    and writes one JSON fixture per case into tests/reference/fixtures/cox_center/.
## 3. Writes tests/reference/fixtures/manifest_cox_center.json (versions, date, md5s).
##
## See the "Cox centring" section at the end of tests/reference/README.md for the
## schema. Numbers: shortest round-tripping decimal, NA/NaN -> null, Inf -> "Inf".

suppressPackageStartupMessages({
  library(survival)
  library(jsonlite)
})
invisible(Sys.setlocale("LC_COLLATE", "C"))

script_path <- sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE))
REF_DIR <- normalizePath(dirname(script_path[1]))
DATA_DIR <- file.path(REF_DIR, "data")
FIX_DIR <- file.path(REF_DIR, "fixtures")
OUT_DIR <- file.path(FIX_DIR, "cox_center")
dir.create(OUT_DIR, showWarnings = FALSE, recursive = TRUE)
source(file.path(REF_DIR, "json_helpers.R"))

## ---------------------------------------------------------------------------
## Data sets
## ---------------------------------------------------------------------------

## aml: x as the factor's 0/1 dummy (Nonmaintained = 1) and as a string
center_aml <- local({
  d <- survival::aml
  data.frame(time = d$time, event = as.integer(d$status),
             x = as.character(d$x), x01 = as.integer(d$x == "Nonmaintained"),
             stringsAsFactors = FALSE)
})

## lung, complete cases of time/status/age/sex/ph.ecog, with sex recoded 0/1 and
## -1/1, and deterministic helper columns: a stratum `site` (a/b/c by row), an
## offset `off`, integer case weights `w` (larger where off = 0, so the weighted
## and unweighted offset means differ) and an entry time `entry` (< time).
center_lung <- local({
  d <- survival::lung
  d <- d[stats::complete.cases(d[, c("time", "status", "age", "sex", "ph.ecog")]), ]
  n <- nrow(d)
  k <- seq_len(n)
  data.frame(time = d$time, event = as.integer(d$status - 1), age = d$age,
             sex = d$sex, sex01 = as.integer(d$sex - 1), sexpm = as.integer(2 * d$sex - 3),
             ph.ecog = d$ph.ecog,
             site = c("a", "b", "c")[(k %% 3) + 1],
             off = 0.1 * (k %% 5), w = 1 + 2 * (k %% 5 == 0) + (k %% 2),
             entry = round(d$time * (k %% 4) / 8),
             stringsAsFactors = FALSE)
})
stopifnot(all(center_lung$entry < center_lung$time))

data_written <- c(write_data_csv(center_aml, "center_aml"),
                  write_data_csv(center_lung, "center_lung"))
DATA_ENV <- new.env()
for (nm in c("center_aml", "center_lung"))
  assign(nm, read.csv(file.path(DATA_DIR, paste0(nm, ".csv")), stringsAsFactors = FALSE),
         envir = DATA_ENV)

## ---------------------------------------------------------------------------
## One fixture
## ---------------------------------------------------------------------------

written <- character(0)
strip_strata <- function(lab) sub("^[^=]*=", "", lab)

newdata_json <- function(nd) {
  lapply(seq_len(nrow(nd)), function(i) {
    row <- lapply(names(nd), function(col) {
      v <- nd[[col]][i]
      if (is.character(v)) unbox(v) else jnum(v)
    })
    setNames(row, names(nd))
  })
}

## one survfit curve (a single curve, no matrix), conf.type "log" (the default)
curve_json <- function(s, stratum = NULL) {
  list(strata = if (is.null(stratum)) JNULL else unbox(stratum),
       time = jarr(s$time), surv = jarr(s$surv), cumhaz = jarr(s$cumhaz),
       std_err = jarr(s$std.err), lower = jarr(s$lower), upper = jarr(s$upper))
}

center_fixture <- function(case, data, covariates, entry = NULL, strata = character(0),
                           weights = NULL, offset = NULL, ties = "efron", newdata = NULL) {
  rhs <- covariates
  if (!is.null(offset)) rhs <- c(rhs, sprintf("offset(%s)", offset))
  if (length(strata)) rhs <- c(rhs, sprintf("strata(%s)", paste(strata, collapse = ", ")))
  lhs <- if (is.null(entry)) "Surv(time, event)" else sprintf("Surv(%s, time, event)", entry)
  cl <- call("coxph", str2lang(paste(lhs, "~", paste(rhs, collapse = " + "))),
             data = as.name(data))
  if (!is.null(weights)) cl$weights <- as.name(weights)
  cl$ties <- ties
  fit <- eval(cl, DATA_ENV)
  d <- get(data, envir = DATA_ENV)
  stopifnot(fit$n == nrow(d), is.null(fit$naive.var))

  lp_ref <- function(ref) jarr(unname(predict(fit, type = "lp", reference = ref)))
  bh_json <- function(centered) {
    bh <- basehaz(fit, centered = centered)
    list(time = jarr(bh$time), hazard = jarr(bh$hazard),
         strata = if (is.null(bh$strata)) JNULL else I(strip_strata(as.character(bh$strata))))
  }

  ## survfit(fit): the default curve (covariates at fit$means, offset at its
  ## weighted mean), one per stratum
  s0 <- survfit(fit)
  if (is.null(s0$strata)) {
    default <- list(curve_json(s0))
  } else {
    labs <- names(s0$strata)
    default <- lapply(seq_along(labs), function(i) curve_json(s0[i], strip_strata(labs[i])))
  }

  sf <- JNULL
  if (!is.null(newdata)) {
    curves <- lapply(seq_len(nrow(newdata)), function(i) {
      s <- survfit(fit, newdata = newdata[i, , drop = FALSE])
      stopifnot(is.null(dim(s$surv)))
      curve_json(s)
    })
    sf <- list(newdata = newdata_json(newdata), conf_type = "log", conf_level = jnum(0.95),
               curves = curves)
  }

  fx <- list(
    case = case,
    call = deparse1line(cl),
    data = paste0(data, ".csv"),
    roles = list(time = "time", event = "event", entry = jstr_or_null(entry),
                 covariates = I(covariates), strata = I(strata),
                 weights = jstr_or_null(weights), offset = jstr_or_null(offset)),
    ties = ties,
    terms = I(names(coef(fit))),
    coef = jarr(coef(fit)),
    loglik = jarr(fit$loglik),
    means = jarr(fit$means),
    linear_predictors = jarr(fit$linear.predictors),
    predict_lp = list(strata = lp_ref("strata"), sample = lp_ref("sample"),
                      zero = lp_ref("zero")),
    martingale = jarr(residuals(fit, type = "martingale")),
    basehaz_centered = bh_json(TRUE),
    basehaz = bh_json(FALSE),
    survfit_default = default,
    survfit = sf)
  path <- file.path(OUT_DIR, paste0(case, ".json"))
  write_json_file(fx, path)
  written <<- c(written, path)
  cat(sprintf("%-20s means = %s\n", case, paste(signif(fit$means, 6), collapse = " ")))
  invisible(fit)
}

nd <- function(...) data.frame(..., stringsAsFactors = FALSE)

## ---------------------------------------------------------------------------
## Cases
## ---------------------------------------------------------------------------

center_fixture("aml_x01", "center_aml", "x01", newdata = nd(x01 = c(0, 1)))
center_fixture("aml_xfactor", "center_aml", "x",
               newdata = nd(x = c("Maintained", "Nonmaintained")))

## ph.ecog = 16 puts the linear predictor near 7: S(t) underflows to 0 part way
## along the curve; ph.ecog = 100 (near 47): S = 0 from the first event on.
lung_nd <- nd(age = c(60, 60, 60), sex01 = c(0, 1, 1), ph.ecog = c(1, 16, 100))
center_fixture("lung_sex01", "center_lung", c("age", "sex01", "ph.ecog"), newdata = lung_nd)
center_fixture("lung_sexpm", "center_lung", c("age", "sexpm", "ph.ecog"),
               newdata = nd(age = c(60, 60), sexpm = c(-1, 1), ph.ecog = c(1, 40)))
center_fixture("lung_strata_offset", "center_lung", c("age", "sex01", "ph.ecog"),
               strata = "site", offset = "off",
               newdata = nd(age = c(60, 70), sex01 = c(0, 1), ph.ecog = c(1, 2),
                            site = c("a", "c"), off = c(0, 0.3)))
center_fixture("lung_w_offset", "center_lung", c("age", "sex01", "ph.ecog"),
               weights = "w", offset = "off",
               newdata = nd(age = 65, sex01 = 1, ph.ecog = 1, off = 0.2))
center_fixture("lung_entry_w", "center_lung", c("age", "sex01", "ph.ecog"),
               entry = "entry", weights = "w",
               newdata = nd(age = 65, sex01 = 1, ph.ecog = 1))
center_fixture("lung_breslow_sex01", "center_lung", c("age", "sex01", "ph.ecog"),
               ties = "breslow", newdata = lung_nd)

## ---------------------------------------------------------------------------
## The null model (no covariates): coxph(Surv(...) ~ 1), with or without an
## offset, strata, weights, entry times. R reports one log-likelihood, no
## coefficients, no means; linear.predictors is the centred offset; no score
## residuals (cox.zph and score/dfbeta/schoenfeld residuals stop with an error).
## Written to fixtures/cox_null/.
## ---------------------------------------------------------------------------
NULL_DIR <- file.path(FIX_DIR, "cox_null")
dir.create(NULL_DIR, showWarnings = FALSE, recursive = TRUE)

null_fixture <- function(case, data, entry = NULL, strata = character(0), weights = NULL,
                         offset = NULL, ties = "efron", newdata = NULL) {
  rhs <- character(0)
  if (!is.null(offset)) rhs <- c(rhs, sprintf("offset(%s)", offset))
  if (length(strata)) rhs <- c(rhs, sprintf("strata(%s)", paste(strata, collapse = ", ")))
  if (!length(rhs)) rhs <- "1"
  lhs <- if (is.null(entry)) "Surv(time, event)" else sprintf("Surv(%s, time, event)", entry)
  cl <- call("coxph", str2lang(paste(lhs, "~", paste(rhs, collapse = " + "))),
             data = as.name(data))
  if (!is.null(weights)) cl$weights <- as.name(weights)
  cl$ties <- ties
  fit <- eval(cl, DATA_ENV)
  d <- get(data, envir = DATA_ENV)
  stopifnot(fit$n == nrow(d), is.null(coef(fit)), is.null(fit$means), length(fit$loglik) == 1)
  stopifnot(inherits(try(residuals(fit, type = "score"), silent = TRUE), "try-error"))
  bh <- function(centered) {
    b <- basehaz(fit, centered = centered)
    list(time = jarr(b$time), hazard = jarr(b$hazard),
         strata = if (is.null(b$strata)) JNULL else I(strip_strata(as.character(b$strata))))
  }
  s0 <- survfit(fit)
  if (is.null(s0$strata)) {
    default <- list(curve_json(s0))
  } else {
    labs <- names(s0$strata)
    default <- lapply(seq_along(labs), function(i) curve_json(s0[i], strip_strata(labs[i])))
  }
  sf <- JNULL
  if (!is.null(newdata)) {
    curves <- lapply(seq_len(nrow(newdata)), function(i)
      curve_json(survfit(fit, newdata = newdata[i, , drop = FALSE])))
    sf <- list(newdata = newdata_json(newdata), conf_type = "log", conf_level = jnum(0.95),
               curves = curves)
  }
  cc <- fit$concordance
  fx <- list(
    case = case,
    call = deparse1line(cl),
    data = paste0(data, ".csv"),
    roles = list(time = "time", event = "event", entry = jstr_or_null(entry),
                 covariates = I(character(0)), strata = I(strata),
                 weights = jstr_or_null(weights), offset = jstr_or_null(offset)),
    ties = ties,
    loglik = jnum(fit$loglik),
    n = jnum(fit$n),
    nevent = jnum(fit$nevent),
    linear_predictors = jarr(fit$linear.predictors),
    martingale = jarr(residuals(fit, type = "martingale")),
    deviance = jarr(residuals(fit, type = "deviance")),
    concordance = list(value = jnum(cc[["concordance"]]), se = jnum(cc[["std"]]),
                       concordant = jnum(cc[["concordant"]]),
                       discordant = jnum(cc[["discordant"]]), tied_x = jnum(cc[["tied.x"]])),
    basehaz_centered = bh(TRUE),
    basehaz = bh(FALSE),
    survfit_default = default,
    survfit = sf)
  path <- file.path(NULL_DIR, paste0(case, ".json"))
  write_json_file(fx, path)
  written <<- c(written, path)
  cat(sprintf("%-20s loglik = %.10g\n", case, fit$loglik))
  invisible(fit)
}

null_fixture("null_efron", "center_lung")
null_fixture("null_breslow", "center_lung", ties = "breslow")
null_fixture("null_exact", "center_lung", ties = "exact")
## (survfit(fit, newdata) fails in survival 3.5-3 for a null model: coxsurv.fit's
## nrow(x2) is NULL; only the default curves are recorded)
null_fixture("null_strata_offset_w", "center_lung", strata = "site", offset = "off",
             weights = "w")
null_fixture("null_entry_w", "center_lung", entry = "entry", weights = "w")

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
write_json_file(manifest, file.path(FIX_DIR, "manifest_cox_center.json"))
cat(sprintf("wrote %d fixtures and %d data files\n", length(written), length(data_written)))
