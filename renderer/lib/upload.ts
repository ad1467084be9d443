/**
 * Web mode: a file from the browser's own machine is uploaded into the host's data folder (the
 * web host's POST /upload), and the engine then opens it by the path the host answers with.
 */
export function uploadFile(file: File, onProgress: (fraction: number) => void): Promise<string> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', '/upload');
    xhr.setRequestHeader('x-cdx-filename', encodeURIComponent(file.name));
    xhr.upload.onprogress = (e) => {
      if (e.lengthComputable) onProgress(e.loaded / e.total);
    };
    xhr.onload = () => (xhr.status === 200 ? resolve(JSON.parse(xhr.responseText).path) : reject(new Error(`${file.name}: ${xhr.responseText.trim() || `upload refused (${xhr.status})`}`)));
    xhr.onerror = () => reject(new Error(`${file.name}: the upload failed`));
    xhr.send(file);
  });
}
