#!/usr/bin/env Rscript
## Reference fixtures for the infinitesimal-jackknife (robust) standard error of the
## Kaplan-Meier cumulative hazard: survfit's std.chaz (and std.err) when the case weights
## are not integers (R's default robust rule) or robust = TRUE.
##
## Usage (from the repository root, after make_r.R has written data/lung.csv):
##   Rscript tests/reference/make_km_ij.R
##
## 1. Reads data/lung.csv (written by make_r.R), adds weight columns and writes
##    data/lung_w.csv; then reads lung_w.csv back and fits from that data frame.
## 2. Writes one JSON fixture per case into fixtures/km_ij/.
## 3. Writes fixtures/manifest_km_ij.json (versions, date, md5 of inputs and outputs).
##
## Weight columns (repeating patterns over the rows in file order):
##   w    = 1, 2, 0.5, 1.5            non-integer: R's default is the robust (IJ) variance
##   wint = 1, 2, 3                   integer: R's default is Greenwood / sum d/n^2
##   w0   = 1, 0, 0.5, 1.5, 2.25      non-integer with zero weights
##
## riskset's kaplan_meier has no id/cluster argument, so there is no clustered case:
## every row is its own cluster (R's choice when neither id nor cluster is given).

suppressPackageStartupMessages({
  library(survival)
  library(jsonlite)
})
invisible(Sys.setlocale("LC_COLLATE", "C"))

script_path <- sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE))
REF_DIR <- normalizePath(dirname(script_path[1]))
DATA_DIR <- file.path(REF_DIR, "data")
FIX_DIR <- file.path(REF_DIR, "fixtures")
OUT_DIR <- file.path(FIX_DIR, "km_ij")
dir.create(OUT_DIR, showWarnings = FALSE, recursive = TRUE)
source(file.path(REF_DIR, "json_helpers.R"))

read_csv <- function(name) {
  read.csv(file.path(DATA_DIR, name), stringsAsFactors = FALSE, na.strings = c("", "NA"))
}

lung <- read_csv("lung.csv")
n <- nrow(lung)
lung_w <- data.frame(
  time = lung$time, event = lung$event, sex = lung$sex,
  w = rep_len(c(1, 2, 0.5, 1.5), n),
  wint = rep_len(c(1L, 2L, 3L), n),
  w0 = rep_len(c(1, 0, 0.5, 1.5, 2.25), n))
write_data_csv(lung_w, "lung_w")
lung_w <- read_csv("lung_w.csv")   # fit from exactly what Python reads
aml <- read_csv("aml.csv")         # written by make_r.R

strata_values <- function(fit, by) {
  if (is.null(fit$strata)) return(list(setNames(list(), character(0))))
  lapply(names(fit$strata), function(s) {
    v <- sub(paste0("^", by, "="), "", s)
    setNames(list(unbox(v)), by)
  })
}

written <- character(0)
km_ij_fixture <- function(case, data_name, by = NULL, weights = NULL, robust = NULL) {
  rhs <- if (is.null(by)) "1" else by
  cl <- call("survfit", str2lang(paste("Surv(time, event) ~", rhs)), data = as.name(data_name))
  if (!is.null(weights)) cl$weights <- as.name(weights)
  if (!is.null(robust)) cl$robust <- robust
  fit <- eval(cl, list(lung_w = lung_w, aml = aml))
  k <- if (is.null(fit$strata)) length(fit$time) else unname(fit$strata)
  idx <- split(seq_along(fit$time), rep(seq_along(k), k))
  sv <- strata_values(fit, by)
  curves <- lapply(seq_along(k), function(i) {
    j <- idx[[i]]
    se <- fit$std.err[j]
    ## S-scale standard error: fit$std.err is se(log S) when logse, se(S) otherwise
    se_s <- if (isTRUE(fit$logse)) fit$surv[j] * se else se
    list(strata = sv[[i]], time = jarr(fit$time[j]), n_risk = jarr(fit$n.risk[j]),
         n_event = jarr(fit$n.event[j]), surv = jarr(fit$surv[j]),
         std_err_surv = jarr(se_s), cumhaz = jarr(fit$cumhaz[j]),
         std_chaz = jarr(fit$std.chaz[j]))
  })
  fx <- list(case = unbox(case), call = unbox(deparse1line(cl)),
             data = unbox(paste0(data_name, ".csv")),
             roles = list(time = unbox("time"), event = unbox("event"),
                          by = if (is.null(by)) I(character(0)) else I(by),
                          weights = if (is.null(weights)) JNULL else unbox(weights)),
             robust = if (is.null(robust)) JNULL else unbox(robust),
             logse = unbox(isTRUE(fit$logse)),
             curves = curves)
  path <- file.path(OUT_DIR, paste0(case, ".json"))
  write_json_file(fx, path)
  written <<- c(written, path)
}

## non-integer weights: R's default is robust (IJ std.err and std.chaz)
km_ij_fixture("lung_sex_w", "lung_w", "sex", "w")
km_ij_fixture("lung_all_w", "lung_w", NULL, "w")
km_ij_fixture("lung_sex_w0", "lung_w", "sex", "w0")
## the same weights with robust = FALSE: Greenwood and sum d / n^2
km_ij_fixture("lung_sex_w_greenwood", "lung_w", "sex", "w", robust = FALSE)
## integer weights: default Greenwood; robust = TRUE asks for the IJ variance
km_ij_fixture("lung_sex_wint", "lung_w", "sex", "wint")
km_ij_fixture("lung_sex_wint_robust", "lung_w", "sex", "wint", robust = TRUE)
## no weights, robust = TRUE: the IJ se of S equals Greenwood's here, std.chaz does not
km_ij_fixture("aml_x_robust", "aml", "x", robust = TRUE)

rel_md5 <- function(files) {
  setNames(as.list(unname(tools::md5sum(files))), substring(files, nchar(REF_DIR) + 2))
}
manifest <- list(
  r_version = unbox(R.version.string),
  survival_version = unbox(as.character(packageVersion("survival"))),
  jsonlite_version = unbox(as.character(packageVersion("jsonlite"))),
  date = unbox(format(Sys.Date(), "%Y-%m-%d")),
  collate = unbox("C"),
  hash = unbox("md5"),
  inputs = rel_md5(file.path(DATA_DIR, c("lung.csv", "aml.csv"))),
  files = rel_md5(c(file.path(DATA_DIR, "lung_w.csv"), sort(written))))
write_json_file(manifest, file.path(FIX_DIR, "manifest_km_ij.json"))
cat(sprintf("wrote %d km_ij fixtures\n", length(written)))
