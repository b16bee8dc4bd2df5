"""Ledger CSV import: sniff the format, map columns, validate every row, land it whole.

Accounting exports come in many layouts: `;` or `,` or tab, a BOM or cp1252, `1.500.000,00`
or `1,500,000.00`, `31/01/2026` or `31 Januari 2026`, a title above the header and a total
row below. One module a step: `sniffing` tells what the file is, `reading` turns it into
checked lines (nothing stored), `storing` lands them in one transaction, `correcting` lets a
corrected re-export take an earlier ledger's place; `model` holds what they pass between
them. Callers use the names below.
"""

from rekon.ledger.correcting import correct_ledger
from rekon.ledger.model import (
    DATE_SAMPLE,
    FIELDS,
    REJECT_THRESHOLD,
    ChoiceNeeded,
    ColumnMapping,
    Correction,
    DuplicateLedger,
    ImportOptions,
    ImportResult,
    LedgerError,
    LedgerFormat,
    Parsed,
    Rejected,
    SavedMapping,
    SharedLines,
    TooManyRejected,
)
from rekon.ledger.reading import read_ledger
from rekon.ledger.sniffing import (
    DATE_FORMATS,
    auto_mapping,
    decode,
    find_header,
    sniff_date_format,
    sniff_delimiter,
)
from rekon.ledger.storing import (
    delete_ledger,
    import_ledger,
    list_ledgers,
    list_mappings,
    load_mapping,
    save_mapping,
    store_ledger,
)

__all__ = [
    "DATE_FORMATS",
    "DATE_SAMPLE",
    "FIELDS",
    "REJECT_THRESHOLD",
    "ChoiceNeeded",
    "ColumnMapping",
    "Correction",
    "DuplicateLedger",
    "ImportOptions",
    "ImportResult",
    "LedgerError",
    "LedgerFormat",
    "Parsed",
    "Rejected",
    "SavedMapping",
    "SharedLines",
    "TooManyRejected",
    "auto_mapping",
    "correct_ledger",
    "decode",
    "delete_ledger",
    "find_header",
    "import_ledger",
    "list_ledgers",
    "list_mappings",
    "load_mapping",
    "read_ledger",
    "save_mapping",
    "sniff_date_format",
    "sniff_delimiter",
    "store_ledger",
]
