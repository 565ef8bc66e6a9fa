"""Online payments: the provider interface (``base``), the VNPay adapter (``vnpay``) and the service that
records payments, answers IPNs and posts to the ledger (``payments``)."""
