"""The daily situation report (Laporan situasi harian): its facts, its PDF and its route."""
