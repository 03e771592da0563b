"""The window's "Session report": record, stop, analyse off the UI thread, open the page."""

from app.engine import Engine
from app.runtime import EngineThread
from sensors.simulated import SimSettings, SimulatedSource
from ui.main_window import MainWindow
from ui.session_report import ReportJob


def test_session_report_after_a_recording(qtbot, tmp_path):
    source = SimulatedSource(SimSettings(seed=4, subject="client"), speed=60)
    runner = EngineThread(Engine([source]), keep_alive=True)
    window = MainWindow(runner)
    qtbot.addWidget(window)
    bar = window.recording_bar
    bar.folder = tmp_path / "recordings"
    runner.start()
    window.show()
    engine = runner.engine
    assert not bar.report_action.isEnabled()  # nothing recorded yet
    bar.record.click()
    recorder = bar.recorder
    qtbot.waitUntil(lambda: recorder in engine.sinks, timeout=3000)
    qtbot.waitUntil(lambda: engine.snapshot.subjects[0].beats_received > 150, timeout=10000)
    bar.record.click()  # stop: the report is offered right away
    assert bar.report_action.isEnabled() and bar.last_recording == recorder.path

    opened = []
    job = bar.session_report(open_url=opened.append)
    assert job.thread.is_alive() or job.report is not None  # the UI thread did not wait
    assert job.dialog.isVisible() or job.report is not None
    with qtbot.waitSignal(job.finished, timeout=20000) as done:
        pass
    report = recorder.path.with_name(recorder.path.stem + "-report") / "report.html"
    assert done.args == [str(report)] and report.is_file()
    assert [u.toLocalFile() for u in opened] == [str(report)]
    assert not job.dialog.isVisible()
    assert "tachogram-client" in report.read_text()
    # the same report as a PDF to file (A4 or Letter), opened instead of the page
    assert bar.pdf_action.isEnabled()
    job = bar.session_report(open_url=opened.append, pdf=True)
    with qtbot.waitSignal(job.finished, timeout=30000) as done:
        pass
    pdf = report.with_suffix(".pdf")
    assert done.args == [str(pdf)] and pdf.read_bytes().startswith(b"%PDF-")
    assert opened[-1].toLocalFile() == str(pdf)
    window.close()


def test_a_bad_file_shows_a_message_not_a_crash(qtbot, tmp_path):
    bad = tmp_path / "bad.xdf"
    bad.write_text("not xdf")
    opened = []
    job = ReportJob(bad, None, open_url=opened.append)
    job.start()
    with qtbot.waitSignal(job.finished, timeout=5000) as done:
        pass
    assert done.args == [""] and "not an XDF file" in job.error and not opened
    assert job.message_box.isVisible()
    job.message_box.close()
