"""Each model's best variant on the validation split, with its test score."""
from tastemap import stats


def select(valid_board, test_board, primary, path, log):
    """Write and return the selected variants (``stats.select_variants``)."""
    valid, test = (b.astype({"model": str, "variant": str}) for b in (valid_board, test_board))
    selected = stats.select_variants(valid, test, primary)
    log.info("selected on validation:\n%s", selected.to_string(index=False))
    selected.to_csv(path, index=False)
    return selected
