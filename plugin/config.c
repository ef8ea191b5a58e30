/* placeholder: config */
