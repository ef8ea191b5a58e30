/* placeholder: filters */
