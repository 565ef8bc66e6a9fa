"""Satisfaction and complaints (issue 23): citizens rate their completed home visits on the national
satisfaction index's criteria (SIPAS) and file complaints (phản ánh, kiến nghị) that are classified, assigned
to the responsible organisation with a deadline in working days, answered and closed; both feed reports."""
