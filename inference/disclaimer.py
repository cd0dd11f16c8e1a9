"""The medical disclaimer, one text for every surface (app, API, CLI, model card)."""

DISCLAIMER = (
    "Research and teaching aid only, not a diagnosis. This model estimates from a dermoscopy photo whether "
    "a pigmented skin lesion looks benign or malignant; it can be wrong, and it has not been approved as a "
    "medical device. See a dermatologist about any lesion that worries you: only a clinical examination, "
    "and where needed a biopsy, decides."
)
