"""``rapportd replay``: the whole product on a real archive as of a date, through the
sandbox (``run``), with its report (``report``) and mechanical checks (``checks``)."""
