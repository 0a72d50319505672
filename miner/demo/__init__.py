"""Built-in demo dataset: a generated, realistic Zendesk account for the fictional company Shiftwise."""
