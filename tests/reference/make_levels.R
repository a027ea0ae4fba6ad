## Level-order fixtures (issue 17): R's answers when a factor's levels are in their real order.
## Run from the repository root: Rscript tests/reference/make_levels.R
##
## * rotterdam: survdiff(Surv(rfstime, rfs) ~ size) with size's levels "<=20", "20-50", ">50"
##   (R's own order of survival::rotterdam$size) and the log-rank test for trend with scores
##   1..3 computed from survdiff's obs/exp/var as riskset defines it (see
##   riskset/_logrank.py TrendResult): z = c'(O - E) / sqrt(c' V c), chisq = z^2, 1 df.
##   rfs = pmax(recur, death); rfstime = rtime if recur == 1 else dtime (as in ?rotterdam).
## * veteran: coxph(Surv(time, status) ~ celltype + karno) with celltype's levels
##   squamous, smallcell, adeno, large (R's order of survival::veteran$celltype), so the
##   reference is squamous.
## Both read the committed CSVs in tests/reference/data (strings), then set the levels.
suppressPackageStartupMessages({ library(survival); library(jsonlite) })
REF_DIR <- "tests/reference"
DATA_DIR <- file.path(REF_DIR, "data")
OUT_DIR <- file.path(REF_DIR, "fixtures", "levels")
dir.create(OUT_DIR, showWarnings = FALSE, recursive = TRUE)
source(file.path(REF_DIR, "json_helpers.R"))
invisible(Sys.setlocale("LC_COLLATE", "C"))

trend <- function(sd, scores) {
  u <- sum(scores * (sd$obs - sd$exp))
  v <- drop(t(scores) %*% sd$var %*% scores)
  list(z = u / sqrt(v), chisq = u * u / v, p = pchisq(u * u / v, 1, lower.tail = FALSE))
}

## --- rotterdam: size, relapse-free survival -------------------------------------------------
rot_csv <- file.path(DATA_DIR, "rotterdam.csv")
rot <- read.csv(rot_csv, stringsAsFactors = FALSE)
rot$rfs <- pmax(rot$recur, rot$death)
rot$rfstime <- ifelse(rot$recur == 1, rot$rtime, rot$dtime)
size_levels <- levels(survival::rotterdam$size)
stopifnot(identical(size_levels, c("<=20", "20-50", ">50")))
rot$size <- factor(rot$size, levels = size_levels)
stopifnot(!anyNA(rot$size))
rotterdam_fixture <- function(time, event) {
  sd <- survdiff(as.formula(sprintf("Surv(%s, %s) ~ size", time, event)), data = rot)
  tr <- trend(sd, seq_along(size_levels))
  list(
    call = unbox(sprintf("survdiff(Surv(%s, %s) ~ size, data = rotterdam)", time, event)),
    time = unbox(time), event = unbox(event), group = unbox("size"),
    levels = size_levels,
    scores = jarr(seq_along(size_levels)),
    n = jarr(as.numeric(sd$n)),
    observed = jarr(sd$obs), expected = jarr(sd$exp), variance_matrix = jmat(sd$var),
    chisq = jnum(sd$chisq), df = jnum(length(sd$n) - 1),
    p_value = jnum(pchisq(sd$chisq, length(sd$n) - 1, lower.tail = FALSE)),
    trend_z = jnum(tr$z), trend_chisq = jnum(tr$chisq), trend_p_value = jnum(tr$p)
  )
}
write_json_file(rotterdam_fixture("rfstime", "rfs"), file.path(OUT_DIR, "rotterdam_rfs_size.json"))
write_json_file(rotterdam_fixture("dtime", "death"), file.path(OUT_DIR, "rotterdam_death_size.json"))

## --- veteran: Cox model with celltype's R levels ---------------------------------------------
vet_csv <- file.path(DATA_DIR, "veteran.csv")
vet <- read.csv(vet_csv, stringsAsFactors = FALSE)
cell_levels <- levels(survival::veteran$celltype)
stopifnot(identical(cell_levels, c("squamous", "smallcell", "adeno", "large")))
vet$celltype <- factor(vet$celltype, levels = cell_levels)
fit <- coxph(Surv(time, status) ~ celltype + karno, data = vet, ties = "efron")
write_json_file(list(
  call = unbox("coxph(Surv(time, status) ~ celltype + karno, data = veteran, ties = 'efron')"),
  levels = cell_levels, reference = unbox(cell_levels[1]),
  terms = names(coef(fit)), coef = jarr(unname(coef(fit))), se = jarr(unname(sqrt(diag(fit$var)))),
  loglik = jarr(fit$loglik)
), file.path(OUT_DIR, "veteran_celltype_cox.json"))

## --- manifest ---------------------------------------------------------------------------------
files <- c(rot_csv, vet_csv, list.files(OUT_DIR, full.names = TRUE))
md5 <- unname(tools::md5sum(files))
names(md5) <- sub(paste0("^", REF_DIR, "/"), "", files)
write_json_file(list(
  r_version = unbox(R.version.string),
  survival_version = unbox(as.character(packageVersion("survival"))),
  jsonlite_version = unbox(as.character(packageVersion("jsonlite"))),
  date = unbox(format(Sys.Date())), collate = unbox("C"), hash = unbox("md5"),
  files = as.list(md5)
), file.path(REF_DIR, "fixtures", "manifest_levels.json"))
