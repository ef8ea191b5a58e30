/* placeholder: notification */
