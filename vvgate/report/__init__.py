"""What a run leaves behind: gates.json, report.html, junit.xml, SARIF and the evidence of
failed checks, every text passed through the redactor first."""
