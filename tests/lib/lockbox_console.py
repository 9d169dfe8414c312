"""The approvers' console in the end-to-end sandbox: a standalone cockpit-ws on
127.0.0.1 and a real headless Chromium driven by Selenium.

cockpit-ws runs without systemd (--no-tls on loopback) as root, so the setuid
cockpit-session can log people in through /etc/pam.d/cockpit with the
sandbox's account files; the bridge it starts as that person reaches the
sandbox's system bus at its default path (/run/dbus/system_bus_socket, on the
sandbox's own /run). Every process here is started through the Sandbox (or by
Selenium, whose driver is quit and whose service is killed by pid) and ends
with the test, also when it fails.
"""
import os
import subprocess

import lockbox_fixture as lf

COCKPIT_WS = "/usr/lib/cockpit/cockpit-ws"
CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
PORT = 9090
PAGE = f"http://127.0.0.1:{PORT}/cockpit/@localhost/lockbox/index.html"
WAIT = 15  # seconds, the bound of every wait on the browser


def missing_tools():
    """What this machine lacks to run the console test (empty when nothing)."""
    missing = [p for p in (COCKPIT_WS, CHROMIUM, CHROMEDRIVER, "/usr/lib/cockpit/cockpit-session",
                           "/usr/bin/cockpit-bridge") if not os.path.exists(p)]
    try:
        import selenium  # noqa: F401
    except ImportError:
        missing.append("python3-selenium")
    return missing


def set_password(user, password):
    """Into the sandbox's /etc/shadow (an overlay: the host's file is untouched)."""
    subprocess.run(["chpasswd"], input=f"{user}:{password}\n", text=True, check=True, timeout=30,
                   capture_output=True)


def open_journal_to_readers():
    """What systemd-tmpfiles does at boot for the journal (Debian's systemd.conf):
    systemd-journal (and adm) may read it. The sandbox's journald started on
    a fresh /run where nobody applied those lines, so its files are root's only,
    and an approver's History (lockboxctl audit as that person) would be empty."""
    subprocess.run(["systemd-tmpfiles", "--create", "--prefix=/run/log/journal",
                    "/usr/lib/tmpfiles.d/systemd.conf"], check=True, timeout=30, capture_output=True)


def start_cockpit_ws(sb):
    log_path = os.path.join(sb.dir, "cockpit-ws.log")
    logf = open(log_path, "ab")
    proc = sb.spawn([COCKPIT_WS, "--no-tls", "--port", str(PORT), "--address", "127.0.0.1"],
                    stdout=logf, stderr=subprocess.STDOUT)
    logf.close()
    lf.wait_until(lambda: sb._port_open(PORT) or proc.poll() is not None, 10, interval=0.05,
                  what="cockpit-ws listening")
    if proc.poll() is not None:
        with open(log_path, errors="replace") as f:
            raise RuntimeError(f"cockpit-ws exited {proc.returncode}:\n{f.read()}")
    return proc


# "shell" once Cockpit left the login page, the login form's error text when it
# shows one, else null (still waiting).
LOGIN_OUTCOME = """
    const error = document.getElementById("login-error-message");
    if (error && error.offsetParent && error.textContent.trim())
        return "error: " + error.textContent.trim();
    return document.readyState === "complete" && !document.getElementById("login-button") ? "shell" : null;
"""


class Browser:
    """One headless Chromium for the whole test; people log in and out in turn."""

    def __init__(self, sb, width=1280, height=1000):
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
        opts = webdriver.ChromeOptions()
        opts.binary_location = CHROMIUM
        for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                    f"--window-size={width},{height}", f"--user-data-dir={os.path.join(sb.dir, 'chromium')}",
                    "--no-first-run", "--disable-extensions", "--disable-background-networking"):
            opts.add_argument(arg)
        opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        self.service = Service(CHROMEDRIVER, log_path=os.path.join(sb.dir, "chromedriver.log"))
        self.driver = None
        try:
            self.driver = webdriver.Chrome(service=self.service, options=opts)
        except Exception:
            self.close()
            raise
        self.driver.set_page_load_timeout(WAIT)
        self.driver.set_script_timeout(WAIT)

    def close(self):
        try:
            if self.driver is not None:
                self.driver.quit()
        except Exception as ex:  # the service is ended below either way
            lf.log(f"driver.quit: {ex}")
        proc = getattr(self.service, "process", None)
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is not None:
            self.dump()
        self.close()
        return False

    def dump(self):
        """What a failure needs to be understood: the URL, the page's text and
        the browser's console."""
        try:
            lf.log(f"browser at {self.driver.current_url}")
            self.screenshot("failure.png")
            lf.log("page text:\n" + self.driver.execute_script("return document.body ? document.body.innerText : ''"))
            for entry in self.driver.get_log("browser"):
                lf.log(f"console: {entry.get('level')} {entry.get('message')}")
        except Exception as ex:
            lf.log(f"cannot dump the browser's state: {ex}")

    # -- waiting ----------------------------------------------------------------
    def wait(self, predicate, what, timeout=WAIT):
        from selenium.webdriver.support.ui import WebDriverWait
        from selenium.common.exceptions import StaleElementReferenceException
        # A page that navigates between two polls leaves stale elements: poll again.
        return WebDriverWait(self.driver, timeout, poll_frequency=0.1,
                             ignored_exceptions=(StaleElementReferenceException,)).until(
            lambda d: predicate(), message=f"timed out after {timeout}s waiting for {what}")

    def css(self, selector):
        from selenium.webdriver.common.by import By
        return self.driver.find_elements(By.CSS_SELECTOR, selector)

    def one(self, selector, what=None):
        return self.wait(lambda: (self.css(selector) or [None])[0], what or selector)

    def click(self, selector, what=None):
        """Clicks the element once it is shown; the page re-renders its lists on
        every Approval1 signal, so a button found a moment ago may be replaced."""
        from selenium.common.exceptions import ElementNotInteractableException, StaleElementReferenceException

        def attempt():
            for e in self.visible(selector):
                try:
                    # As a person scrolls to a button before clicking it.
                    self.driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", e)
                    e.click()
                    return True
                except (ElementNotInteractableException, StaleElementReferenceException) as ex:
                    lf.log(f"click on {selector}: {ex.msg}")
                    return False
            return False
        self.wait(attempt, f"clicking {what or selector}")

    def visible(self, selector):
        return [e for e in self.css(selector) if e.is_displayed()]

    # -- Cockpit ----------------------------------------------------------------
    def login(self, user, password):
        """Through Cockpit's own login form, then straight to the Lockbox page."""
        self.driver.delete_all_cookies()
        self.driver.get(f"http://127.0.0.1:{PORT}/")
        # login.js shows the form only after it asked the server; type once it is shown.
        self.wait(lambda: self.visible("#login-user-input"), "the login form")[0].send_keys(user)
        self.visible("#login-password-input")[0].send_keys(password)
        self.visible("#login-button")[0].click()
        # Cockpit replaces the login page by its shell once the session is up.
        outcome = self.wait(lambda: self.driver.execute_script(LOGIN_OUTCOME), f"{user}'s login")
        if outcome != "shell":
            raise AssertionError(f"login of {user} failed: {outcome}")
        self.open_page()

    def shell_links_page(self):
        """Cockpit's shell (its navigation, built from every manifest.json) links
        the Lockbox page."""
        self.driver.get(f"http://127.0.0.1:{PORT}/")
        link = self.wait(lambda: [a for a in self.css('a[href$="/lockbox"]') if a.text.strip() == "Lockbox"],
                         "the shell's link to the Lockbox page")
        return bool(link)

    def open_page(self):
        self.driver.get(PAGE)
        self.wait(lambda: self.driver.execute_script("return document.body && document.body.dataset.ready === '1'"),
                  "the Lockbox page ready")

    def screenshot(self, name):
        target = os.environ.get("LOCKBOX_SCREENSHOT_DIR")
        if not target:
            return
        os.makedirs(target, exist_ok=True)
        self.driver.save_screenshot(os.path.join(target, name))
