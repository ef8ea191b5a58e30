/* placeholder: dedupe */
