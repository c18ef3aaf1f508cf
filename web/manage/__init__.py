"""The desk's management pages: 人员与网格, 台账 and 广播 (each its own module and templates)."""
