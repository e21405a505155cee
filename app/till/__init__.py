"""The till: terminals, receipts and refunds, and the money arithmetic of a purchase."""
