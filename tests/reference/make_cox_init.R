#!/usr/bin/env Rscript
## Reference fixtures for riskset.cox(init=): coxph(..., init = ) with the default
## iterations and with iter.max = 0 (the fit stays at init), on lung_cox.csv (make_cox.R).
## Usage (from the repository root): Rscript tests/reference/make_cox_init.R
## Writes fixtures/cox_init/*.json and fixtures/manifest_cox_init.json.
suppressPackageStartupMessages({
  library(survival)
  library(jsonlite)
})
invisible(Sys.setlocale("LC_COLLATE", "C"))
script_path <- sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE))
REF_DIR <- normalizePath(dirname(script_path[1]))
DATA_DIR <- file.path(REF_DIR, "data")
OUT_DIR <- file.path(REF_DIR, "fixtures", "cox_init")
dir.create(OUT_DIR, showWarnings = FALSE, recursive = TRUE)
source(file.path(REF_DIR, "json_helpers.R"))

lung <- read.csv(file.path(DATA_DIR, "lung_cox.csv"))
init <- c(0.01, -0.5, 0.4)
case <- function(name, fit) {
  obj <- list(case = name, call = deparse1line(fit$call), init = jarr(init),
              coef = jarr(coef(fit)), var = jmat(fit$var), loglik = jarr(fit$loglik),
              iter = fit$iter, score = jnum(fit$score),
              lr = jnum(2 * diff(fit$loglik)))
  write_json_file(obj, file.path(OUT_DIR, paste0(name, ".json")))
}
case("lung_init", coxph(Surv(time, event) ~ age + sex + ph.ecog, data = lung, init = init))
case("lung_init_iter0", coxph(Surv(time, event) ~ age + sex + ph.ecog, data = lung, init = init,
                              control = coxph.control(iter.max = 0)))
files <- list.files(OUT_DIR, full.names = TRUE)
manifest <- list(r_version = R.version.string,
                 survival_version = as.character(packageVersion("survival")),
                 date = format(Sys.time(), "%Y-%m-%d"), hash = "md5",
                 inputs = list("data/lung_cox.csv" = unname(tools::md5sum(file.path(DATA_DIR, "lung_cox.csv")))),
                 files = setNames(as.list(unname(tools::md5sum(files))),
                                  file.path("fixtures", "cox_init", basename(files))))
write_json_file(manifest, file.path(REF_DIR, "fixtures", "manifest_cox_init.json"))
