/* placeholder: crypto */
