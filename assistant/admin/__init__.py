"""The admin side: FAQ and catalogue maintenance, bulk import/export, dashboard figures, model retraining."""
