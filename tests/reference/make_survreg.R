#!/usr/bin/env Rscript
## Reference fixtures for riskset: parametric survival regression (survival::survreg).
##
## Usage (from the repository root; make_r.R must have written ovarian.csv and
## veteran.csv first, they are read from tests/reference/data/):
##   Rscript tests/reference/make_survreg.R
##
## 1. Writes the data sets the survreg cases need as CSV into tests/reference/data/:
##    survreg_lung (lung complete cases of time, status, age, sex, ph.ecog, with a
##    0/1 `event`, seeded case weights `w` and offset `off`) and survreg_interval
##    (seeded: exact, right-, left- and interval-censored rows in `lower`/`upper`,
##    some intervals starting at 0).
## 2. Reads every data set back from its CSV and writes one JSON fixture per case
##    into tests/reference/fixtures/survreg/.
## 3. Writes tests/reference/fixtures/manifest_survreg.json (versions, md5s).
##
## See the "survreg" section of tests/reference/README.md for the JSON schema.

suppressPackageStartupMessages({
  library(survival)
  library(jsonlite)
})
invisible(Sys.setlocale("LC_COLLATE", "C"))
RNGkind("Mersenne-Twister", "Inversion", "Rejection")

script_path <- sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE))
REF_DIR <- normalizePath(dirname(script_path[1]))
DATA_DIR <- file.path(REF_DIR, "data")
FIX_DIR <- file.path(REF_DIR, "fixtures")
OUT_DIR <- file.path(FIX_DIR, "survreg")
dir.create(OUT_DIR, showWarnings = FALSE, recursive = TRUE)
source(file.path(REF_DIR, "json_helpers.R"))

## ---------------------------------------------------------------------------
## Data sets written by this script
## ---------------------------------------------------------------------------
survreg_lung <- local({
  d <- survival::lung
  d <- d[stats::complete.cases(d[, c("time", "status", "age", "sex", "ph.ecog")]),
         c("time", "status", "age", "sex", "ph.ecog")]
  d$event <- as.integer(d$status - 1)
  set.seed(20261208)
  d$w <- round(runif(nrow(d), 0.5, 2), 3)
  d$off <- round(rnorm(nrow(d), 0, 0.2), 3)
  d
})

survreg_interval <- local({
  set.seed(4242)
  n <- 240
  x1 <- round(rnorm(n), 3)
  g <- sample(c("a", "b", "c"), n, replace = TRUE)
  t <- round(rweibull(n, shape = 1.5, scale = exp(1 + 0.4 * x1 + 0.3 * (g == "b"))), 3)
  t <- pmax(t, 0.01)
  kind <- sample(c("exact", "right", "left", "interval", "interval0"), n, replace = TRUE,
                 prob = c(0.25, 0.25, 0.15, 0.28, 0.07))
  lower <- upper <- rep(NA_real_, n)
  e <- kind == "exact"; lower[e] <- t[e]; upper[e] <- t[e]
  r <- kind == "right"; lower[r] <- round(t[r] * runif(sum(r), 0.3, 1), 3)
  lower[r] <- pmax(lower[r], 0.005)
  l <- kind == "left"; upper[l] <- round(t[l] * runif(sum(l), 1, 2), 3) + 0.001
  i <- kind == "interval"
  lower[i] <- pmax(round(t[i] * runif(sum(i), 0.4, 0.99), 3), 0.005)
  upper[i] <- round(t[i] * runif(sum(i), 1.01, 1.8), 3) + 0.001
  i0 <- kind == "interval0"; lower[i0] <- 0; upper[i0] <- round(t[i0] * 1.5, 3) + 0.001
  data.frame(lower = lower, upper = upper, x1 = x1, g = g, stringsAsFactors = FALSE)
})

NEW_DATA <- list(survreg_lung = survreg_lung, survreg_interval = survreg_interval)
data_written <- character(0)
for (nm in names(NEW_DATA))
  data_written <- c(data_written, write_data_csv(NEW_DATA[[nm]], nm))

INPUT_DATA <- c("ovarian", "veteran")
read_back <- function(nm) read.csv(file.path(DATA_DIR, paste0(nm, ".csv")),
                                   stringsAsFactors = FALSE)
DATA <- lapply(setNames(nm = c(names(NEW_DATA), INPUT_DATA)), read_back)

## ---------------------------------------------------------------------------
## Cases
## ---------------------------------------------------------------------------
DISTS <- c("weibull", "exponential", "rayleigh", "lognormal", "loglogistic",
           "extreme", "logistic", "gaussian", "t")
PQ <- c(0.1, 0.5, 0.9)
written <- character(0)

strip <- function(x) { x <- unname(x); if (is.matrix(x)) x else as.numeric(x) }

## One fixture. `args` is the riskset.survreg keyword arguments (a list).
run_case <- function(id, dname, formula, dist, args, scale = 0, weights = NULL,
                     iter.max = 30, newdata_rows = NULL,
                     zero_left = FALSE, parms = NULL) {
  d <- DATA[[dname]]
  environment(formula) <- environment()
  ctl <- survreg.control(iter.max = iter.max)
  if (zero_left) d$lower[!is.na(d$lower) & d$lower == 0 & !is.na(d$upper)] <- NA
  d$.w <- if (is.null(weights)) rep(1, nrow(d)) else d[[weights]]
  ## scale and parms only when given (R warns about an explicit scale for exponential and
  ## rayleigh, and an explicit NULL parms is an error for t)
  cl <- quote(survreg(formula, data = d, dist = dist, control = ctl))
  if (!is.null(weights)) cl$weights <- quote(.w)
  if (scale > 0) cl$scale <- scale
  if (!is.null(parms)) cl$parms <- parms
  fit <- eval(cl)
  tab <- summary(fit)$table
  q <- predict(fit, type = "quantile", p = PQ, se.fit = TRUE)
  uq <- predict(fit, type = "uquantile", p = PQ, se.fit = TRUE)
  lp <- predict(fit, type = "lp", se.fit = TRUE)
  rs <- predict(fit, type = "response", se.fit = TRUE)
  out <- list(
    id = unbox(id), data = unbox(dname), dist = unbox(dist),
    call = unbox(deparse1line(fit$call)),
    args = args,
    n = jnum(length(fit$linear.predictors)),
    terms = I(names(fit$coefficients)),
    coef = jarr(strip(fit$coefficients)),
    var = jmat(fit$var),
    scale = jarr(strip(fit$scale)),
    scale_fixed = unbox(nrow(fit$var) == length(fit$coefficients)),
    loglik = jarr(fit$loglik),
    iter = jnum(fit$iter),
    chisq = jnum(2 * diff(fit$loglik)),
    df = jnum(sum(fit$df) - fit$idf),
    table_terms = I(rownames(tab)),
    table = jmat(tab[, c(1, 2, 3, 4)]),
    linear_predictors = jarr(fit$linear.predictors),
    pred = list(
      lp = jarr(lp$fit), lp_se = jarr(lp$se.fit),
      response = jarr(rs$fit), response_se = jarr(rs$se.fit),
      p = jarr(PQ),
      quantile = jmat(q$fit), quantile_se = jmat(q$se.fit),
      uquantile = jmat(uq$fit), uquantile_se = jmat(uq$se.fit)),
    resid = list(
      response = jarr(residuals(fit, type = "response")),
      deviance = jarr(residuals(fit, type = "deviance")),
      working = jarr(residuals(fit, type = "working"))))
  if (!is.null(newdata_rows)) {
    nd <- d[newdata_rows, , drop = FALSE]
    qn <- predict(fit, newdata = nd, type = "quantile", p = PQ, se.fit = TRUE)
    ln <- predict(fit, newdata = nd, type = "lp", se.fit = TRUE)
    out$newdata <- list(rows = jarr(newdata_rows - 1),
                        lp = jarr(ln$fit), lp_se = jarr(ln$se.fit),
                        quantile = jmat(qn$fit), quantile_se = jmat(qn$se.fit))
  }
  path <- file.path(OUT_DIR, paste0(id, ".json"))
  write_json_file(out, path)
  written <<- c(written, path)
}

lung_args <- function(dist, ...) c(list(time = unbox("time"), event = unbox("event"),
  covariates = I(c("age", "sex", "ph.ecog")), dist = unbox(dist)), list(...))
for (dist in DISTS) {
  run_case(paste0("lung_", dist), "survreg_lung", Surv(time, event) ~ age + sex + ph.ecog,
           dist, lung_args(dist), newdata_rows = if (dist == "weibull") 1:5 else NULL)
}
for (dist in DISTS) {
  run_case(paste0("ovarian_", dist), "ovarian", Surv(futime, fustat) ~ age + rx, dist,
           list(time = unbox("futime"), event = unbox("fustat"),
                covariates = I(c("age", "rx")), dist = unbox(dist)))
}
for (dist in c("weibull", "lognormal", "loglogistic", "exponential")) {
  run_case(paste0("veteran_", dist), "veteran", Surv(time, status) ~ celltype + karno, dist,
           list(time = unbox("time"), event = unbox("status"),
                covariates = I(c("celltype", "karno")), dist = unbox(dist)),
           newdata_rows = c(1, 30, 60, 100, 130))
}
## one scale per stratum
for (dist in c("weibull", "loglogistic", "gaussian")) {
  run_case(paste0("veteran_strata_", dist), "veteran",
           Surv(time, status) ~ celltype + karno + strata(trt), dist,
           list(time = unbox("time"), event = unbox("status"),
                covariates = I(c("celltype", "karno")), strata = unbox("trt"),
                dist = unbox(dist)), newdata_rows = c(1, 30, 80, 100, 130))
}
## Student-t with other degrees of freedom
run_case("lung_t_df7", "survreg_lung", Surv(time, event) ~ age + sex + ph.ecog, "t",
         lung_args("t", t_df = jnum(7)), parms = list(df = 7))
run_case("veteran_strata_t_df10", "veteran", Surv(time, status) ~ celltype + karno + strata(trt),
         "t", list(time = unbox("time"), event = unbox("status"),
                   covariates = I(c("celltype", "karno")), strata = unbox("trt"),
                   dist = unbox("t"), t_df = jnum(10)), parms = list(df = 10))
## fixed scale
run_case("lung_weibull_scale08", "survreg_lung", Surv(time, event) ~ age + sex + ph.ecog,
         "weibull", lung_args("weibull", scale = jnum(0.8)), scale = 0.8)
run_case("lung_gaussian_scale250", "survreg_lung", Surv(time, event) ~ age + sex + ph.ecog,
         "gaussian", lung_args("gaussian", scale = jnum(250)), scale = 250)
## weights, offset
run_case("lung_weibull_weights", "survreg_lung", Surv(time, event) ~ age + sex + ph.ecog,
         "weibull", lung_args("weibull", weights = unbox("w")), weights = "w")
run_case("lung_lognormal_weights", "survreg_lung", Surv(time, event) ~ age + sex + ph.ecog,
         "lognormal", lung_args("lognormal", weights = unbox("w")), weights = "w")
run_case("lung_weibull_offset", "survreg_lung",
         Surv(time, event) ~ age + sex + ph.ecog + offset(off), "weibull",
         lung_args("weibull", offset = unbox("off")))
run_case("lung_loglogistic_offset_weights", "survreg_lung",
         Surv(time, event) ~ age + sex + ph.ecog + offset(off), "loglogistic",
         lung_args("loglogistic", offset = unbox("off"), weights = unbox("w")), weights = "w")
## intercept only
run_case("lung_weibull_null", "survreg_lung", Surv(time, event) ~ 1, "weibull",
         list(time = unbox("time"), event = unbox("event"), covariates = I(character(0)),
              dist = unbox("weibull")))
## stopped early (iter.max = 2): R's estimate after two iterations, with its warning
suppressWarnings(run_case("lung_weibull_iter2", "survreg_lung",
         Surv(time, event) ~ age + sex + ph.ecog, "weibull",
         lung_args("weibull", max_iter = jnum(2)), iter.max = 2))
## interval-censored (Surv(lower, upper, type = "interval2")). For the distributions on
## log(t) an interval (0, u] is left-censored at u: newer survival (>= 3.6) converts such
## rows itself, survival 3.5-3 stops with "Invalid survival times", so the script sets
## lower = NA on those rows (zero_left) and riskset is checked on the data with lower = 0.
for (dist in DISTS) {
  run_case(paste0("interval_", dist), "survreg_interval",
           Surv(lower, upper, type = "interval2") ~ x1 + g, dist,
           list(lower = unbox("lower"), upper = unbox("upper"), covariates = I(c("x1", "g")),
                dist = unbox(dist)),
           zero_left = dist %in% c("weibull", "exponential", "rayleigh", "lognormal",
                                   "loglogistic"))
}

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
  rng_kind = I(RNGkind()),
  hash = "md5",
  files = rel_md5(c(data_written, sort(written))),
  inputs = rel_md5(file.path(DATA_DIR, paste0(INPUT_DATA, ".csv"))))
write_json_file(manifest, file.path(FIX_DIR, "manifest_survreg.json"))
cat(sprintf("wrote %d survreg fixtures and %d data files\n", length(written),
            length(data_written)))
